import { z } from 'zod';
import type { CanonicalRole } from '../types';
import { collectMediaField, idOf, isObject, type FormatDef, type JsonObject } from './format';
import { normaliseTurns } from './conversation';

const MINICPM_ROLES: Record<string, CanonicalRole> = { user: 'user', assistant: 'assistant', system: 'system' };

export const minicpmVFormat: FormatDef = {
  name: 'minicpm-v',
  describe: 'MiniCPM-V {"image": path | {"<image_00>": path}, "conversations":[{"role","content"}]}',
  signatures: [['conversations', 'image']],
  knownKeys: new Set(['id', 'image', 'conversations']),
  roleNames: Object.keys(MINICPM_ROLES),
  consequence: "MiniCPM-V's loader swallows the error and silently trains on a random other sample",
  schema: z.object({
    id: z.union([z.string(), z.number()]).optional(),
    image: z.union([z.string(), z.record(z.string(), z.string())]).optional(),
    conversations: z.array(z.looseObject({ role: z.string(), content: z.string() })),
  }),
  detect(value) {
    const list = value['conversations'];
    if (!Array.isArray(list)) return 0;
    const first = list.find(isObject);
    if (!first || !('role' in first)) return 0;
    return 'image' in value && !('images' in value) ? 10 : 8;
  },
  normalise(value: JsonObject) {
    const turns = normaliseTurns(value['conversations'], ['conversations'], { roleKey: 'role', contentKey: 'content', roles: MINICPM_ROLES });
    const media = [] as ReturnType<FormatDef['normalise']>['media'];
    collectMediaField(value, 'image', 'image', media);
    return { format: 'minicpm-v', turns, media, usesPlaceholders: true, value, id: idOf(value) };
  },
};

import { z } from 'zod';
import { idOf, isObject, type FormatDef, type JsonObject } from './format';
import { LLAMAFACTORY_MESSAGE_ROLES, normaliseTurns } from './conversation';

const v1Part = z.looseObject({
  type: z.enum(['text', 'reasoning', 'tool_call', 'image_url', 'video_url', 'audio_url']),
  value: z.string(),
});

const v1Message = z.looseObject({
  role: z.string(),
  content: z.array(v1Part),
  loss_weight: z.number().optional(),
});

export const llamafactoryV1Format: FormatDef = {
  name: 'llamafactory-v1',
  describe: 'LLaMA-Factory v1 {"messages":[{"role","content":[{"type","value"}]}]}',
  signatures: [['messages']],
  knownKeys: new Set(['messages', 'tools', 'id', 'extra_info', '_dataset_name']),
  roleNames: Object.keys(LLAMAFACTORY_MESSAGE_ROLES),
  consequence: "LLaMA-Factory v1's converter fails on such a record",
  schema: z.object({ messages: z.array(v1Message), tools: z.union([z.string(), z.array(z.unknown())]).optional() }),
  detect(value) {
    const m = value['messages'];
    if (!Array.isArray(m)) return 0;
    const first = m.find(isObject);
    if (first && Array.isArray(first['content']) && first['content'].some((p) => isObject(p) && 'value' in p)) return 10;
    return 0;
  },
  normalise(value: JsonObject) {
    const turns = normaliseTurns(value['messages'], ['messages'], { roleKey: 'role', contentKey: 'content', roles: LLAMAFACTORY_MESSAGE_ROLES });
    return { format: 'llamafactory-v1', turns, media: turns.flatMap((t) => t.mediaParts), usesPlaceholders: false, value, id: idOf(value) };
  },
  check(value, _sample, _ctx, report) {
    const list = value['messages'];
    if (!Array.isArray(list)) return;
    list.forEach((m, i) => {
      if (!isObject(m)) return;
      const w = m['loss_weight'];
      if (typeof w === 'number' && (w < 0 || !Number.isFinite(w))) {
        report({
          code: 'invalid-weight',
          path: ['messages', i, 'loss_weight'],
          message: `messages[${i}].loss_weight is ${w}; LLaMA-Factory expects a weight ≥ 0 (0 masks the turn out of the loss).`,
        });
      }
    });
  },
};

import { z } from 'zod';
import type { CanonicalRole } from '../types';
import { collectMediaField, idOf, isObject, type FormatContext, type FormatDef, type JsonObject } from './format';
import { normaliseTurns, SHAREGPT_ROLES, type ConversationLayout } from './conversation';

/** The layout of a ShareGPT record, from `dataset_info.json` columns/tags when present. */
export function sharegptLayout(ctx: FormatContext): ConversationLayout & { listKey: string } {
  const info = ctx.datasetInfo?.formatting === 'sharegpt' ? ctx.datasetInfo : undefined;
  const tags = info?.tags ?? {};
  const listKey = info?.columns?.['messages'] ?? 'conversations';
  if (!info?.tags) return { listKey, roleKey: 'from', contentKey: 'value', roles: SHAREGPT_ROLES };
  const roles: Record<string, CanonicalRole> = {};
  roles[tags['user_tag'] ?? 'human'] = 'user';
  roles[tags['assistant_tag'] ?? 'gpt'] = 'assistant';
  roles[tags['observation_tag'] ?? 'observation'] = 'tool';
  roles[tags['function_tag'] ?? 'function_call'] = 'tool_call';
  roles[tags['system_tag'] ?? 'system'] = 'system';
  return { listKey, roleKey: tags['role_tag'] ?? 'from', contentKey: tags['content_tag'] ?? 'value', roles };
}

const mediaField = z.union([z.string(), z.array(z.string())]);

export const sharegptFormat: FormatDef = {
  name: 'sharegpt',
  describe: 'ShareGPT {"conversations":[{"from","value"}]} (LLaVA, InternVL, Qwen-VL, LLaMA-Factory)',
  signatures: [['conversations']],
  knownKeys: new Set(['conversations', 'image', 'images', 'video', 'videos', 'audios', 'system', 'tools', 'id', 'width_list', 'height_list', 'model', 'source', 'data_source', 'meta']),
  roleNames: Object.keys(SHAREGPT_ROLES),
  consequence: 'LLaMA-Factory drops the sample ("Invalid role tag"), LLaVA trains on a misaligned conversation',
  schema: z.object({
    conversations: z.array(z.looseObject({ from: z.string(), value: z.string() })),
    image: mediaField.optional(),
    images: mediaField.optional(),
    videos: mediaField.optional(),
    audios: mediaField.optional(),
    system: z.string().optional(),
    tools: z.union([z.string(), z.array(z.unknown())]).optional(),
  }),
  detect(value, ctx) {
    const layout = sharegptLayout(ctx);
    const list = value[layout.listKey];
    if (!Array.isArray(list)) return layout.listKey in value && layout.listKey !== 'messages' ? 1 : 0;
    if (layout.listKey === 'messages' && layout.roleKey === 'role') return 0;
    const first = list.find(isObject);
    if (!first) return 6;
    if (layout.roleKey in first) return 10;
    return 'role' in first ? 4 : 6;
  },
  normalise(value: JsonObject, ctx) {
    const layout = sharegptLayout(ctx);
    const turns = normaliseTurns(value[layout.listKey], [layout.listKey], layout);
    const media = turns.flatMap((t) => t.mediaParts);
    collectMediaField(value, 'image', 'image', media);
    collectMediaField(value, 'images', 'image', media);
    collectMediaField(value, 'video', 'video', media);
    collectMediaField(value, 'videos', 'video', media);
    collectMediaField(value, 'audios', 'audio', media);
    if (typeof value['system'] === 'string') {
      turns.unshift({
        role: 'system',
        rawRole: 'system',
        path: ['system'],
        rolePath: ['system'],
        contentPath: ['system'],
        texts: [{ text: value['system'], path: ['system'] }],
        contentNull: false,
        hasToolCalls: false,
        mediaParts: [],
      });
    }
    return { format: 'sharegpt', turns, media, usesPlaceholders: true, value, id: idOf(value) };
  },
};

import { z } from 'zod';
import { collectMediaField, idOf, isObject, isString, type FormatDef, type JsonObject } from './format';
import { LLAMAFACTORY_MESSAGE_ROLES, normaliseTurns } from './conversation';

const mediaList = z.union([z.array(z.union([z.string(), z.looseObject({ path: z.string() })])), z.string()]);

export const messagesMediaFormat: FormatDef = {
  name: 'messages+media',
  describe: 'messages with media {"messages":[{"role","content"}],"images":[…]} (LLaMA-Factory, ms-swift)',
  signatures: [['messages', 'images'], ['messages', 'videos'], ['messages', 'audios']],
  knownKeys: new Set(['messages', 'images', 'videos', 'audios', 'tools', 'system', 'id', 'objects', 'rejected_response', 'label']),
  roleNames: Object.keys(LLAMAFACTORY_MESSAGE_ROLES),
  consequence: 'LLaMA-Factory and ms-swift drop or crash on such a record',
  schema: z.object({
    messages: z.array(
      z.looseObject({
        role: z.string(),
        content: z.union([z.string(), z.null()]),
      }),
    ),
    images: mediaList.optional(),
    videos: mediaList.optional(),
    audios: mediaList.optional(),
    tools: z.union([z.string(), z.array(z.unknown())]).optional(),
  }),
  detect(value) {
    const m = value['messages'];
    if (!Array.isArray(m)) return 0;
    if ('images' in value || 'videos' in value || 'audios' in value) return 10;
    const first = m.find(isObject);
    if (first && Array.isArray(first['content'])) return 0;
    // Text-only records of a messages+media file are fine either way; openai wins the tie.
    return m.some((t) => isObject(t) && isString(t['content']) && /<(image|video|audio)>/.test(t['content'])) ? 10 : 5;
  },
  normalise(value: JsonObject) {
    const turns = normaliseTurns(value['messages'], ['messages'], { roleKey: 'role', contentKey: 'content', roles: LLAMAFACTORY_MESSAGE_ROLES });
    const media = turns.flatMap((t) => t.mediaParts);
    collectMediaField(value, 'images', 'image', media);
    collectMediaField(value, 'videos', 'video', media);
    collectMediaField(value, 'audios', 'audio', media);
    return { format: 'messages+media', turns, media, usesPlaceholders: true, value, id: idOf(value) };
  },
};

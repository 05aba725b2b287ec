import { z } from 'zod';
import { isObject, isString, idOf, type FormatDef, type JsonObject } from './format';
import { normaliseTurns, OPENAI_ROLES } from './conversation';

const textPart = z.object({ type: z.literal('text'), text: z.string() });
const imagePart = z.object({
  type: z.literal('image_url'),
  image_url: z.object({ url: z.string(), detail: z.enum(['auto', 'low', 'high']).optional() }),
});
const audioPart = z.object({ type: z.literal('input_audio'), input_audio: z.object({ data: z.string(), format: z.string() }) });
const part = z.discriminatedUnion('type', [textPart, imagePart, audioPart]);

const toolCall = z.object({
  id: z.string().optional(),
  type: z.literal('function').optional(),
  function: z.object({ name: z.string(), arguments: z.string() }),
});

const message = z.looseObject({
  role: z.string(),
  content: z.union([z.string(), z.array(part), z.null()]).optional(),
  name: z.string().optional(),
  weight: z.number().optional(),
  tool_calls: z.array(toolCall).optional(),
  tool_call_id: z.string().optional(),
});

export const openaiFormat: FormatDef = {
  name: 'openai',
  describe: 'OpenAI chat {"messages":[{"role","content"}]}',
  signatures: [['messages']],
  knownKeys: new Set(['messages', 'tools', 'functions', 'parallel_tool_calls', 'metadata', 'id']),
  roleNames: Object.keys(OPENAI_ROLES),
  consequence: "OpenAI's fine-tuning file check rejects the whole file",
  schema: z.object({
    messages: z.array(message),
    tools: z.array(z.unknown()).optional(),
    functions: z.array(z.unknown()).optional(),
    parallel_tool_calls: z.boolean().optional(),
  }),
  detect(value) {
    const m = value['messages'];
    // A non-list "messages" is still an attempt at this format: the schema then names the problem.
    if (!Array.isArray(m)) return 'messages' in value && !('images' in value) ? 1 : 0;
    if ('images' in value || 'videos' in value || 'audios' in value) return 1;
    const first = m.find(isObject);
    if (first && Array.isArray(first['content']) && first['content'].some((p) => isObject(p) && 'value' in p)) return 1;
    return 10;
  },
  normalise(value: JsonObject) {
    const turns = normaliseTurns(value['messages'], ['messages'], { roleKey: 'role', contentKey: 'content', roles: OPENAI_ROLES });
    return { format: 'openai', turns, media: turns.flatMap((t) => t.mediaParts), usesPlaceholders: false, value, id: idOf(value) };
  },
  check(value, sample, _ctx, report) {
    const list = value['messages'];
    if (!Array.isArray(list)) return;
    list.forEach((m, i) => {
      if (!isObject(m)) return;
      const w = m['weight'];
      if (w !== undefined && w !== 0 && w !== 1) {
        report({
          code: 'invalid-weight',
          path: ['messages', i, 'weight'],
          message: `messages[${i}].weight is ${JSON.stringify(w)}; OpenAI accepts only 0 (do not train on this turn) or 1 (train on it), and rejects the file otherwise.`,
        });
      }
      if (w !== undefined && m['role'] !== 'assistant') {
        report({
          code: 'invalid-weight',
          path: ['messages', i, 'weight'],
          message: `messages[${i}].weight is set on a "${String(m['role'])}" turn; OpenAI reads weight only on assistant turns.`,
        });
      }
      if (!('content' in m) && !sample.turns[i]?.hasToolCalls) {
        report({
          code: 'missing-field',
          path: ['messages', i],
          message: `messages[${i}] has no "content"; only an assistant turn with tool_calls may omit it, and OpenAI rejects the file otherwise.`,
        });
      }
      if (Array.isArray(m['content']) && isString(m['role']) && m['role'] !== 'user' && m['role'] !== 'system') {
        // Parts content outside user turns is legal only for text parts; images are checked by the media rules.
      }
    });
  },
};

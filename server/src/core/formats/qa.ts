import { z } from 'zod';
import type { JsonPath, Sample } from '../types';
import { collectMediaField, idOf, isObject, isString, textTurn, type FormatDef, type JsonObject } from './format';

/** The accepted (question, answer) key pairs, in order of preference. */
const PAIRS: ReadonlyArray<readonly [string, string]> = [
  ['question', 'answer'],
  ['query', 'response'],
  ['prompt', 'response'],
  ['question', 'response'],
  ['query', 'answer'],
];

export function qaKeys(value: JsonObject): readonly [string, string] | undefined {
  return PAIRS.find(([q, a]) => q in value && a in value) ?? PAIRS.find(([q]) => q in value);
}

/** Options as a list (`["Paris","Rome"]` → A, B) or a letter-keyed map (`{"A":"Paris"}`). */
export function readOptions(value: JsonObject): { options: { key: string; text: string }[]; path: JsonPath } | undefined {
  for (const key of ['options', 'choices']) {
    const v = value[key];
    if (Array.isArray(v)) {
      return { options: v.map((o, i) => ({ key: String.fromCharCode(65 + i), text: isString(o) ? o : JSON.stringify(o) })), path: [key] };
    }
    if (isObject(v)) {
      return { options: Object.entries(v).map(([k, o]) => ({ key: k, text: isString(o) ? o : JSON.stringify(o) })), path: [key] };
    }
  }
  return undefined;
}

const scalar = z.union([z.string(), z.number(), z.boolean()]);

export const qaFormat: FormatDef = {
  name: 'qa',
  describe: 'QA pairs {"question","answer"} (also query/response, prompt/response)',
  signatures: PAIRS.map(([q, a]) => [q, a]),
  knownKeys: new Set(['question', 'answer', 'query', 'response', 'prompt', 'options', 'choices', 'image', 'images', 'id', 'context', 'category', 'explanation', 'rationale', 'source', 'subject']),
  consequence: 'the trainer builds an empty or broken prompt from it',
  schema: z.looseObject({
    options: z.union([z.array(scalar), z.record(z.string(), scalar)]).optional(),
    choices: z.union([z.array(scalar), z.record(z.string(), scalar)]).optional(),
    image: z.union([z.string(), z.array(z.string())]).optional(),
    images: z.array(z.string()).optional(),
  }),
  detect(value) {
    if ('completion' in value || 'chosen' in value || 'instruction' in value) return 0;
    const keys = qaKeys(value);
    if (!keys) return 0;
    return keys[1] in value ? 8 : 2;
  },
  normalise(value: JsonObject): Sample {
    const [q, a] = qaKeys(value) ?? ['question', 'answer'];
    const answerValue = value[a];
    const turns = [
      textTurn('user', q, [q], [q], [q], value[q]),
      textTurn('assistant', a, [a], [a], [a], typeof answerValue === 'number' ? String(answerValue) : answerValue),
    ];
    const media = [] as Sample['media'];
    collectMediaField(value, 'image', 'image', media);
    collectMediaField(value, 'images', 'image', media);
    const opts = readOptions(value);
    const sample: Sample = { format: 'qa', turns, media, usesPlaceholders: true, value, id: idOf(value) };
    if (isString(answerValue) || typeof answerValue === 'number') {
      sample.answer = { value: String(answerValue), path: [a] };
      if (opts) {
        sample.answer.options = opts.options;
        sample.answer.optionsPath = opts.path;
      }
    }
    return sample;
  },
  check(value, _sample, _ctx, report) {
    const keys = qaKeys(value);
    if (!keys) return;
    for (const k of keys) {
      if (!(k in value)) {
        report({ code: 'missing-field', path: [], message: `"${k}" is missing: a QA record needs both "${keys[0]}" and "${keys[1]}"; without it the trainer builds an empty ${k === keys[0] ? 'prompt' : 'target'}.` });
      } else if (!isString(value[k]) && !(k === keys[1] && typeof value[k] === 'number')) {
        report({ code: 'invalid-field-type', path: [k], message: `"${k}" is ${jsonType(value[k])}, expected a string.` });
      }
    }
  },
};

export function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

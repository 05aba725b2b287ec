import { z } from 'zod';
import type { JsonPath, Sample, Turn } from '../types';
import { collectMediaField, idOf, isObject, isString, textTurn, type FormatDef, type JsonObject } from './format';
import { LLAMAFACTORY_MESSAGE_ROLES, normaliseTurns, OPENAI_ROLES, SHAREGPT_ROLES } from './conversation';

type Variant = 'sharegpt' | 'messages' | 'alpaca' | 'prompt' | 'v1' | 'openai-dpo' | 'kto';

export function preferenceVariant(value: JsonObject): Variant | undefined {
  if (Array.isArray(value['chosen_messages']) || Array.isArray(value['rejected_messages'])) return 'v1';
  if (isObject(value['input']) && ('preferred_output' in value || 'non_preferred_output' in value)) return 'openai-dpo';
  if ('chosen' in value || 'rejected' in value) {
    if (Array.isArray(value['conversations'])) return 'sharegpt';
    if (Array.isArray(value['messages'])) return 'messages';
    if ('instruction' in value) return 'alpaca';
    return 'prompt';
  }
  if (Array.isArray(value['messages']) && (typeof value['label'] === 'boolean' || typeof value['kto_tag'] === 'boolean')) return 'kto';
  if (Array.isArray(value['conversations']) && typeof value['kto_tag'] === 'boolean') return 'kto';
  return undefined;
}

/** A chosen/rejected value: a string, a turn object, or a list of turns. */
function completionTurns(v: unknown, path: JsonPath, roles: Record<string, CanonicalRoleMap>, roleKey: string, contentKey: string): Turn[] {
  if (isString(v)) return [textTurn('assistant', path[path.length - 1] as string, path, path, path, v)];
  if (Array.isArray(v)) return normaliseTurns(v, path, { roleKey, contentKey, roles });
  if (isObject(v)) {
    const turns = normaliseTurns([v], path.slice(0, -1), { roleKey, contentKey, roles });
    // normaliseTurns indexes from the list path; rebuild the paths for a single object.
    return turns.map((t) => rebase(t, path));
  }
  return [textTurn('assistant', String(path[path.length - 1]), path, path, path, v)];
}

type CanonicalRoleMap = Turn['role'];

function rebase(turn: Turn, path: JsonPath): Turn {
  const fix = (p: JsonPath): JsonPath => [...path, ...p.slice(path.length)];
  return {
    ...turn,
    path,
    rolePath: fix(turn.rolePath),
    contentPath: fix(turn.contentPath),
    texts: turn.texts.map((t) => ({ text: t.text, path: fix(t.path) })),
    mediaParts: turn.mediaParts.map((m) => ({ ...m, path: fix(m.path) })),
  };
}

export const preferenceFormat: FormatDef = {
  name: 'preference',
  describe: 'preference data (chosen/rejected, OpenAI DPO, KTO)',
  signatures: [['conversations', 'chosen', 'rejected'], ['messages', 'chosen', 'rejected'], ['prompt', 'chosen', 'rejected'], ['input', 'preferred_output', 'non_preferred_output'], ['chosen_messages', 'rejected_messages'], ['messages', 'label'], ['messages', 'kto_tag']],
  knownKeys: new Set(['conversations', 'messages', 'chosen', 'rejected', 'prompt', 'instruction', 'input', 'system', 'history', 'preferred_output', 'non_preferred_output', 'chosen_messages', 'rejected_messages', 'label', 'kto_tag', 'images', 'videos', 'audios', 'tools', 'id', 'score_chosen', 'score_rejected']),
  consequence: 'the preference trainer drops the pair or fails',
  schema: z.looseObject({
    chosen: z.union([z.string(), z.looseObject({}), z.array(z.unknown())]).optional(),
    rejected: z.union([z.string(), z.looseObject({}), z.array(z.unknown())]).optional(),
    preferred_output: z.array(z.looseObject({ role: z.string() })).optional(),
    non_preferred_output: z.array(z.looseObject({ role: z.string() })).optional(),
    chosen_messages: z.array(z.looseObject({ role: z.string() })).optional(),
    rejected_messages: z.array(z.looseObject({ role: z.string() })).optional(),
  }),
  detect(value) {
    return preferenceVariant(value) ? 12 : 0;
  },
  normalise(value: JsonObject): Sample {
    const variant = preferenceVariant(value);
    let turns: Turn[] = [];
    let extraTurns: Turn[] = [];
    switch (variant) {
      case 'sharegpt':
        turns = normaliseTurns(value['conversations'], ['conversations'], { roleKey: 'from', contentKey: 'value', roles: SHAREGPT_ROLES });
        turns.push(...completionTurns(value['chosen'], ['chosen'], SHAREGPT_ROLES, 'from', 'value'));
        extraTurns = completionTurns(value['rejected'], ['rejected'], SHAREGPT_ROLES, 'from', 'value');
        if (isString(value['system'])) turns.unshift(textTurn('system', 'system', ['system'], ['system'], ['system'], value['system']));
        break;
      case 'messages':
      case 'kto':
        turns = normaliseTurns(value['messages'], ['messages'], { roleKey: 'role', contentKey: 'content', roles: LLAMAFACTORY_MESSAGE_ROLES });
        if (variant === 'messages') {
          turns.push(...completionTurns(value['chosen'], ['chosen'], LLAMAFACTORY_MESSAGE_ROLES, 'role', 'content'));
          extraTurns = completionTurns(value['rejected'], ['rejected'], LLAMAFACTORY_MESSAGE_ROLES, 'role', 'content');
        }
        break;
      case 'alpaca': {
        const user = textTurn('user', 'instruction', ['instruction'], ['instruction'], ['instruction'], value['instruction']);
        if (isString(value['input'])) user.texts.push({ text: value['input'], path: ['input'] });
        turns = [user, ...completionTurns(value['chosen'], ['chosen'], LLAMAFACTORY_MESSAGE_ROLES, 'role', 'content')];
        extraTurns = completionTurns(value['rejected'], ['rejected'], LLAMAFACTORY_MESSAGE_ROLES, 'role', 'content');
        break;
      }
      case 'prompt': {
        const p = value['prompt'];
        turns = Array.isArray(p)
          ? normaliseTurns(p, ['prompt'], { roleKey: 'role', contentKey: 'content', roles: OPENAI_ROLES })
          : [textTurn('user', 'prompt', ['prompt'], ['prompt'], ['prompt'], p)];
        turns.push(...completionTurns(value['chosen'], ['chosen'], OPENAI_ROLES, 'role', 'content'));
        extraTurns = completionTurns(value['rejected'], ['rejected'], OPENAI_ROLES, 'role', 'content');
        break;
      }
      case 'v1':
        turns = normaliseTurns(value['chosen_messages'], ['chosen_messages'], { roleKey: 'role', contentKey: 'content', roles: LLAMAFACTORY_MESSAGE_ROLES });
        extraTurns = normaliseTurns(value['rejected_messages'], ['rejected_messages'], { roleKey: 'role', contentKey: 'content', roles: LLAMAFACTORY_MESSAGE_ROLES });
        break;
      case 'openai-dpo': {
        const input = value['input'] as JsonObject;
        turns = normaliseTurns(input['messages'], ['input', 'messages'], { roleKey: 'role', contentKey: 'content', roles: OPENAI_ROLES });
        turns.push(...normaliseTurns(value['preferred_output'], ['preferred_output'], { roleKey: 'role', contentKey: 'content', roles: OPENAI_ROLES }));
        extraTurns = normaliseTurns(value['non_preferred_output'], ['non_preferred_output'], { roleKey: 'role', contentKey: 'content', roles: OPENAI_ROLES });
        break;
      }
      default:
        break;
    }
    const media = [...turns, ...extraTurns].flatMap((t) => t.mediaParts);
    collectMediaField(value, 'images', 'image', media);
    collectMediaField(value, 'videos', 'video', media);
    collectMediaField(value, 'audios', 'audio', media);
    return { format: 'preference', turns, extraTurns, media, usesPlaceholders: variant !== 'openai-dpo', value, id: idOf(value) };
  },
  check(value, _sample, _ctx, report) {
    const variant = preferenceVariant(value);
    const pairs: Record<string, [string, string]> = {
      sharegpt: ['chosen', 'rejected'],
      messages: ['chosen', 'rejected'],
      alpaca: ['chosen', 'rejected'],
      prompt: ['chosen', 'rejected'],
      v1: ['chosen_messages', 'rejected_messages'],
      'openai-dpo': ['preferred_output', 'non_preferred_output'],
    };
    const pair = variant ? pairs[variant] : undefined;
    if (!pair) return;
    for (const k of pair) {
      if (!(k in value)) {
        report({
          code: 'missing-field',
          path: [],
          message: `"${k}" is missing: a preference pair needs both "${pair[0]}" and "${pair[1]}"; DPO/ORPO trainers drop or fail on a one-sided pair.`,
        });
      }
    }
    if (variant === 'prompt' && !('prompt' in value)) {
      report({ code: 'missing-field', path: [], message: '"prompt" is missing: chosen/rejected need the prompt they answer.' });
    }
  },
};

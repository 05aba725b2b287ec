import type { CanonicalRole, JsonPath, MediaRef, Turn } from '../types';
import { isObject, isString, roleFrom, textTurn } from './format';

/** How a format lays out one conversation: which keys hold the list, the role and the content. */
export interface ConversationLayout {
  roleKey: string;
  contentKey: string;
  roles: Readonly<Record<string, CanonicalRole>>;
}

/**
 * Normalises a list of turns. Content may be a string, null, or a list of parts: OpenAI parts
 * (`{"type":"text","text"}`, `{"type":"image_url","image_url":{"url"}}`) and LLaMA-Factory v1
 * parts (`{"type":"text"|"image_url"|"video_url"|"audio_url"|"reasoning"|"tool_call","value"}`).
 */
export function normaliseTurns(list: unknown, listPath: JsonPath, layout: ConversationLayout): Turn[] {
  if (!Array.isArray(list)) return [];
  const turns: Turn[] = [];
  list.forEach((item, i) => {
    const path = [...listPath, i];
    if (!isObject(item)) {
      turns.push(textTurn('unknown', '', path, path, path, undefined));
      return;
    }
    const rawRole = item[layout.roleKey];
    const role = roleFrom(layout.roles, rawRole);
    const contentPath = [...path, layout.contentKey];
    const content = item[layout.contentKey];
    const turn = textTurn(role, isString(rawRole) ? rawRole : '', path, [...path, layout.roleKey], contentPath, content);
    if (Array.isArray(content)) {
      turn.contentNull = false;
      content.forEach((part, j) => addPart(turn, part, [...contentPath, j], turns.length));
    }
    if (Array.isArray(item['tool_calls']) && item['tool_calls'].length > 0) turn.hasToolCalls = true;
    if (isObject(item['function_call'])) turn.hasToolCalls = true;
    turns.push(turn);
  });
  return turns;
}

const PART_MEDIA: Record<string, MediaRef['kind']> = {
  image_url: 'image',
  image: 'image',
  video_url: 'video',
  video: 'video',
  audio_url: 'audio',
  audio: 'audio',
  input_audio: 'audio',
};

function addPart(turn: Turn, part: unknown, path: JsonPath, turnIndex: number): void {
  if (!isObject(part)) return;
  const type = part['type'];
  if (!isString(type)) return;
  if (type === 'text' || type === 'reasoning') {
    if (isString(part['text'])) turn.texts.push({ text: part['text'], path: [...path, 'text'] });
    else if (isString(part['value'])) turn.texts.push({ text: part['value'], path: [...path, 'value'] });
    return;
  }
  if (type === 'tool_call') {
    turn.hasToolCalls = true;
    return;
  }
  const kind = PART_MEDIA[type];
  if (!kind) return;
  const v = part['value'];
  const obj = part[type];
  if (isString(v)) turn.mediaParts.push({ kind, ref: v, path: [...path, 'value'], turn: turnIndex });
  else if (isObject(obj) && isString(obj['url'])) turn.mediaParts.push({ kind, ref: obj['url'], path: [...path, type, 'url'], turn: turnIndex });
  else if (isString(obj)) turn.mediaParts.push({ kind, ref: obj, path: [...path, type], turn: turnIndex });
}

export const OPENAI_ROLES: Record<string, CanonicalRole> = {
  system: 'system',
  developer: 'system',
  user: 'user',
  assistant: 'assistant',
  tool: 'tool',
  function: 'tool',
};

export const LLAMAFACTORY_MESSAGE_ROLES: Record<string, CanonicalRole> = {
  system: 'system',
  user: 'user',
  assistant: 'assistant',
  tool: 'tool',
  function: 'tool',
  observation: 'tool',
  function_call: 'tool_call',
};

export const SHAREGPT_ROLES: Record<string, CanonicalRole> = {
  human: 'user',
  gpt: 'assistant',
  system: 'system',
  observation: 'tool',
  function_call: 'tool_call',
  // Qwen-VL v1 and some LLaVA derivatives use user/assistant inside `conversations`.
  user: 'user',
  assistant: 'assistant',
};

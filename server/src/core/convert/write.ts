import type { JsonObject } from '../formats';
import type { MediaKind } from '../types';
import { placeholderText, textOf, type Conversation, type ConvTurn, type ToolCall } from './conversation';

/**
 * Writers: Conversation → a record of the target format. Whatever the target cannot hold is
 * dropped with a warning that says what; a record that cannot be written at all (alpaca needs
 * strict user/assistant pairs) comes back without a value.
 */

export const CONVERT_TARGETS = ['openai', 'messages+media', 'sharegpt', 'minicpm-v', 'alpaca'] as const;
export type ConvertTarget = (typeof CONVERT_TARGETS)[number];

export interface WriteResult {
  value?: JsonObject;
  warnings: string[];
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function idField(conv: Conversation): JsonObject {
  return conv.id !== undefined ? { id: conv.id } : {};
}

/** Media of the kinds a target cannot hold are removed from the turns, with a warning. */
function dropKinds(conv: Conversation, keep: readonly MediaKind[], target: string, warnings: string[]): Conversation {
  let dropped = 0;
  const turns = conv.turns.map((t) => {
    const segments = t.segments.filter((s) => {
      if (s.type === 'media' && !keep.includes(s.kind)) {
        dropped++;
        return false;
      }
      return true;
    });
    return { ...t, segments };
  });
  if (dropped > 0) warnings.push(`${plural(dropped, 'video/audio medium')} dropped: ${target} holds only ${keep.join(' and ')}`);
  return { ...conv, turns };
}

function warnDetail(conv: Conversation, target: string, warnings: string[]): void {
  const n = conv.turns.reduce((a, t) => a + t.segments.filter((s) => s.type === 'media' && s.detail !== undefined).length, 0);
  if (n > 0) warnings.push(`the image detail setting of ${plural(n, 'image')} is dropped: ${target} has no such field`);
}

function warnWeights(conv: Conversation, target: string, warnings: string[]): void {
  warnDetail(conv, target, warnings);
  const zero = conv.turns.filter((t) => t.weight === 0 && (t.role === 'assistant' || t.role === 'tool_call')).length;
  if (zero > 0) warnings.push(`${plural(zero, 'assistant turn')} marked not to be trained on (weight 0) lose the mark: ${target} trains on every assistant turn`);
}

function callsJson(calls: ToolCall[]): string {
  const list = calls.map((c) => {
    let args: unknown = c.arguments;
    try {
      args = JSON.parse(c.arguments);
    } catch {
      // Arguments that are not JSON stay a string.
    }
    return { name: c.name, arguments: args };
  });
  return JSON.stringify(list.length === 1 ? list[0] : list);
}

/** LLaMA-Factory keeps tool definitions as a JSON string of function definitions. */
function lfTools(conv: Conversation): JsonObject {
  if (!conv.tools) return {};
  return { tools: JSON.stringify(conv.tools.map((t) => (t && typeof t === 'object' && 'function' in t ? t.function : t))) };
}

function writeOpenAi(conv: Conversation): WriteResult {
  const warnings: string[] = [];
  const c = conv;
  const messages: JsonObject[] = [];
  let pending: string[] = [];
  let dropped = 0;
  c.turns.forEach((t, i) => {
    const parts: JsonObject[] = [];
    for (const s of t.segments) {
      if (s.type === 'text') parts.push({ type: 'text', text: s.text });
      else if (s.kind === 'image') parts.push({ type: 'image_url', image_url: { url: s.ref, ...(s.detail !== undefined ? { detail: s.detail } : {}) } });
      else {
        const audio = s.kind === 'audio' ? /^data:audio\/(wav|mp3|x-wav|mpeg);base64,(.*)$/is.exec(s.ref) : null;
        if (audio) parts.push({ type: 'input_audio', input_audio: { data: audio[2], format: audio[1]!.toLowerCase().includes('wav') ? 'wav' : 'mp3' } });
        else dropped++;
      }
    }
    const onlyText = parts.every((p) => p['type'] === 'text');
    const content: unknown = onlyText ? parts.map((p) => p['text'] as string).join('') : parts;
    if (t.role === 'tool_call' || (t.role === 'assistant' && t.toolCalls)) {
      if (!t.toolCalls) {
        warnings.push(`turn ${i + 1} is a function call whose text is not {"name", "arguments"} JSON; it was written as assistant text`);
        messages.push({ role: 'assistant', content });
        return;
      }
      pending = t.toolCalls.map((call, j) => call.id ?? `call_${i + 1}_${j + 1}`);
      const text = t.role === 'assistant' ? textOf(t) : '';
      messages.push({
        role: 'assistant',
        content: text === '' ? null : text,
        tool_calls: t.toolCalls.map((call, j) => ({ id: pending[j], type: 'function', function: { name: call.name, arguments: call.arguments } })),
        ...(t.weight !== undefined ? { weight: t.weight } : {}),
      });
      return;
    }
    if (t.role === 'tool') {
      const id = t.toolCallId ?? pending.shift();
      messages.push({ role: 'tool', content: textOf(t), ...(id ? { tool_call_id: id } : {}), ...(t.name ? { name: t.name } : {}) });
      return;
    }
    const m: JsonObject = { role: t.role, content };
    if (t.name && t.role !== 'system') m['name'] = t.name;
    if (t.weight !== undefined && t.role === 'assistant') m['weight'] = t.weight;
    messages.push(m);
  });
  if (dropped > 0) warnings.push(`${plural(dropped, 'video/audio medium')} dropped: OpenAI fine-tuning takes images (and audio as base64 WAV/MP3) only`);
  return { value: { messages, ...(c.tools ? { tools: c.tools } : {}), ...idField(c) }, warnings };
}

/** Placeholder formats: role names, content with placeholders, media lists by kind. */
function writePlaceholder(conv: Conversation, target: 'messages+media' | 'sharegpt'): WriteResult {
  const warnings: string[] = [];
  warnWeights(conv, target, warnings);
  const turns: JsonObject[] = [];
  const media: Record<MediaKind, string[]> = { image: [], video: [], audio: [] };
  let system: string | undefined;
  const [roleKey, contentKey] = target === 'sharegpt' ? ['from', 'value'] : ['role', 'content'];
  const names: Record<ConvTurn['role'], string> =
    target === 'sharegpt'
      ? { system: 'system', user: 'human', assistant: 'gpt', tool_call: 'function_call', tool: 'observation' }
      : { system: 'system', user: 'user', assistant: 'assistant', tool_call: 'function_call', tool: 'observation' };
  conv.turns.forEach((t, i) => {
    for (const s of t.segments) if (s.type === 'media') media[s.kind].push(s.ref);
    const text = placeholderText(t);
    if (t.role === 'system' && i === 0 && target === 'sharegpt') {
      system = text;
      return;
    }
    if (t.toolCalls && (t.role === 'assistant' || t.role === 'tool_call')) {
      if (t.role === 'assistant' && textOf(t).trim() !== '') {
        turns.push({ [roleKey]: names.assistant, [contentKey]: text });
        warnings.push(`turn ${i + 1}'s text and its tool calls became two turns (${target} holds a call in a turn of its own)`);
      }
      turns.push({ [roleKey]: names.tool_call, [contentKey]: callsJson(t.toolCalls) });
      return;
    }
    turns.push({ [roleKey]: names[t.role], [contentKey]: text });
  });
  const out: JsonObject = {};
  if (target === 'sharegpt') {
    out['conversations'] = turns;
    if (system !== undefined) out['system'] = system;
  } else out['messages'] = turns;
  if (media.image.length) out['images'] = media.image;
  if (media.video.length) out['videos'] = media.video;
  if (media.audio.length) out['audios'] = media.audio;
  return { value: { ...out, ...lfTools(conv), ...idField(conv) }, warnings };
}

function hasTools(conv: Conversation): boolean {
  return conv.turns.some((t) => t.role === 'tool' || t.role === 'tool_call' || t.toolCalls !== undefined);
}

function writeMinicpm(conv0: Conversation): WriteResult {
  const warnings: string[] = [];
  if (hasTools(conv0)) return { warnings: ['tool calls and results have no place in MiniCPM-V data; the record was skipped'] };
  const conv = dropKinds(conv0, ['image'], 'MiniCPM-V', warnings);
  warnWeights(conv, 'MiniCPM-V', warnings);
  const images: string[] = [];
  for (const t of conv.turns) for (const s of t.segments) if (s.type === 'media') images.push(s.ref);
  const numbered = images.length > 1;
  const counter = { n: 0 };
  const conversations = conv.turns.map((t) => ({
    role: t.role,
    content: placeholderText(t, (_k, n) => (numbered ? `<image_${String(n).padStart(2, '0')}>` : '<image>'), counter),
  }));
  const out: JsonObject = { ...idField(conv) };
  if (images.length === 1) out['image'] = images[0];
  else if (numbered) out['image'] = Object.fromEntries(images.map((ref, n) => [`<image_${String(n).padStart(2, '0')}>`, ref]));
  out['conversations'] = conversations;
  if (conv.tools) warnings.push('tool definitions dropped: MiniCPM-V data has no tools field');
  return { value: out, warnings };
}

function writeAlpaca(conv: Conversation): WriteResult {
  const warnings: string[] = [];
  if (hasTools(conv)) return { warnings: ['tool calls and results have no place in Alpaca data; the record was skipped'] };
  const turns = [...conv.turns];
  let system: string | undefined;
  if (turns[0]?.role === 'system') system = placeholderText(turns.shift()!);
  const pairs: [ConvTurn, ConvTurn][] = [];
  for (let i = 0; i < turns.length; i += 2) {
    const u = turns[i]!;
    const a = turns[i + 1];
    if (u.role !== 'user' || a?.role !== 'assistant') {
      return { warnings: ['Alpaca needs user/assistant pairs after an optional system prompt; this conversation does not have that shape and was skipped'] };
    }
    pairs.push([u, a]);
  }
  if (pairs.length === 0) return { warnings: ['no user/assistant pair to write as Alpaca; the record was skipped'] };
  warnWeights(conv, 'Alpaca', warnings);
  const media: Record<MediaKind, string[]> = { image: [], video: [], audio: [] };
  const counter = { n: 0 };
  const text = (t: ConvTurn): string => {
    for (const s of t.segments) if (s.type === 'media') media[s.kind].push(s.ref);
    return placeholderText(t, undefined, counter);
  };
  const history = pairs.slice(0, -1).map(([u, a]) => [text(u), text(a)]);
  const [lastU, lastA] = pairs[pairs.length - 1]!;
  const out: JsonObject = { instruction: text(lastU), output: text(lastA) };
  if (system !== undefined) out['system'] = system;
  if (history.length) out['history'] = history;
  if (media.image.length) out['images'] = media.image;
  if (media.video.length) out['videos'] = media.video;
  if (media.audio.length) out['audios'] = media.audio;
  return { value: { ...out, ...lfTools(conv), ...idField(conv) }, warnings };
}

export function writeRecord(conv: Conversation, to: ConvertTarget): WriteResult {
  switch (to) {
    case 'openai':
      return writeOpenAi(conv);
    case 'messages+media':
    case 'sharegpt':
      return writePlaceholder(conv, to);
    case 'minicpm-v':
      return writeMinicpm(conv);
    case 'alpaca':
      return writeAlpaca(conv);
  }
}

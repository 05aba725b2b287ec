import { formatByName, type FormatContext, type JsonObject } from '../formats';
import { isObject, isString } from '../formats/format';
import { LLAMAFACTORY_MESSAGE_ROLES, OPENAI_ROLES } from '../formats/conversation';
import { readOptions } from '../formats/qa';
import { sharegptLayout } from '../formats/sharegpt';
import type { CanonicalRole, FormatName, MediaKind } from '../types';
import { normaliseSegments, type Conversation, type ConvRole, type ConvTurn, type Segment, type ToolCall } from './conversation';

/**
 * Readers: a record of any format → Conversation. Media bind to placeholders in reading order,
 * as the trainers bind them; media without a placeholder go to the start of the first user turn,
 * where MiniCPM-V, InternVL and ms-swift put them.
 */

export interface ReadResult {
  conv?: Conversation;
  warnings: string[];
}

type Queues = Record<MediaKind, string[]>;

const PLACEHOLDER_RE = /<(image|video|audio)>|<image_(\d+)>/g;

function mediaList(value: unknown): string[] {
  if (isString(value)) return [value];
  if (!Array.isArray(value)) return [];
  const out: string[] = [];
  for (const v of value) {
    if (isString(v)) out.push(v);
    else if (isObject(v) && isString(v['path'])) out.push(v['path']);
    else if (isObject(v) && isString(v['url'])) out.push(v['url']);
  }
  return out;
}

function queuesOf(value: JsonObject, keys: Partial<Record<MediaKind, string[]>>): Queues {
  const q: Queues = { image: [], video: [], audio: [] };
  for (const kind of ['image', 'video', 'audio'] as const) for (const k of keys[kind] ?? []) q[kind].push(...mediaList(value[k]));
  return q;
}

/** Splits text at placeholders, binding each to the next medium of its kind (or, numbered, to its key). */
function splitText(text: string, queues: Queues, warnings: string[], numbered?: Map<string, string>): Segment[] {
  const out: Segment[] = [];
  let last = 0;
  PLACEHOLDER_RE.lastIndex = 0;
  for (let m = PLACEHOLDER_RE.exec(text); m !== null; m = PLACEHOLDER_RE.exec(text)) {
    let ref: string | undefined;
    let kind: MediaKind = 'image';
    if (m[1]) {
      kind = m[1] as MediaKind;
      ref = queues[kind].shift();
      if (ref === undefined && kind === 'image' && numbered && numbered.size > 0) {
        // MiniCPM-V: a plain <image> in a record whose images are a map takes the first unused key.
        const [key, value] = numbered.entries().next().value as [string, string];
        numbered.delete(key);
        ref = value;
      }
    } else if (numbered) {
      ref = numbered.get(m[0]);
      numbered.delete(m[0]);
    }
    if (ref === undefined) {
      warnings.push(`${m[0]} at position ${m.index} has no ${kind} to bind to; it is kept as text`);
      continue;
    }
    if (m.index > last) out.push({ type: 'text', text: text.slice(last, m.index) });
    out.push({ type: 'media', kind, ref });
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push({ type: 'text', text: text.slice(last) });
  return out;
}

/** Media left without a placeholder go to the start of the first user turn (what loaders that insert a missing placeholder do). */
function placeLeftovers(turns: ConvTurn[], leftovers: { kind: MediaKind; ref: string }[], warnings: string[], silentSingle: boolean): void {
  if (leftovers.length === 0) return;
  let first = turns.find((t) => t.role === 'user');
  if (!first) {
    first = { role: 'user', segments: [] };
    const at = turns[0]?.role === 'system' ? 1 : 0;
    turns.splice(at, 0, first);
  }
  first.segments.unshift(...leftovers.map((m) => ({ type: 'media' as const, kind: m.kind, ref: m.ref })));
  if (!(silentSingle && leftovers.length === 1)) {
    warnings.push(`${leftovers.length} medi${leftovers.length === 1 ? 'um' : 'a'} had no placeholder and ${leftovers.length === 1 ? 'was' : 'were'} placed at the start of the first user turn`);
  }
}

function leftoversOf(queues: Queues, numbered?: Map<string, string>): { kind: MediaKind; ref: string }[] {
  const out: { kind: MediaKind; ref: string }[] = [];
  if (numbered) for (const ref of numbered.values()) out.push({ kind: 'image', ref });
  for (const kind of ['image', 'video', 'audio'] as const) for (const ref of queues[kind]) out.push({ kind, ref });
  return out;
}

function roleOf(map: Readonly<Record<string, CanonicalRole>>, raw: unknown): ConvRole | undefined {
  if (!isString(raw) || !Object.prototype.hasOwnProperty.call(map, raw)) return undefined;
  const r = map[raw]!;
  return r === 'unknown' ? undefined : r;
}

function toolCallsOf(list: unknown): ToolCall[] | undefined {
  if (!Array.isArray(list)) return undefined;
  const calls: ToolCall[] = [];
  for (const c of list) {
    if (!isObject(c) || !isObject(c['function'])) continue;
    const f = c['function'];
    calls.push({ ...(isString(c['id']) ? { id: c['id'] } : {}), name: isString(f['name']) ? f['name'] : '', arguments: isString(f['arguments']) ? f['arguments'] : JSON.stringify(f['arguments'] ?? {}) });
  }
  return calls.length ? calls : undefined;
}

/** Tool definitions as OpenAI lists them, from OpenAI's list or LLaMA-Factory's JSON string of function definitions. */
function toolsOf(v: unknown, warnings: string[]): unknown[] | undefined {
  let list = v;
  if (isString(v)) {
    try {
      list = JSON.parse(v);
    } catch {
      warnings.push('"tools" is not valid JSON and was dropped');
      return undefined;
    }
  }
  if (!Array.isArray(list)) return undefined;
  return list.map((t) => (isObject(t) && t['type'] === 'function' && isObject(t['function']) ? t : { type: 'function', function: t }));
}

/** A ShareGPT/messages `function_call` turn's JSON text → tool calls. */
function parseFunctionCall(text: string): ToolCall[] | undefined {
  try {
    const v: unknown = JSON.parse(text);
    const list = Array.isArray(v) ? v : [v];
    const calls: ToolCall[] = [];
    for (const c of list) {
      if (!isObject(c) || !isString(c['name'])) return undefined;
      const args = c['arguments'];
      calls.push({ name: c['name'], arguments: isString(args) ? args : JSON.stringify(args ?? {}) });
    }
    return calls;
  } catch {
    return undefined;
  }
}

function idOf(value: JsonObject): Pick<Conversation, 'id'> {
  const id = value['id'];
  return isString(id) || typeof id === 'number' ? { id } : {};
}

/** Placeholder formats: turns of text with `<image>`-style placeholders, media listed beside. */
function readPlaceholderTurns(
  list: unknown,
  layout: { roleKey: string; contentKey: string; roles: Readonly<Record<string, CanonicalRole>> },
  queues: Queues,
  warnings: string[],
  numbered?: Map<string, string>,
): ConvTurn[] | undefined {
  if (!Array.isArray(list)) return undefined;
  const turns: ConvTurn[] = [];
  for (const [i, item] of list.entries()) {
    if (!isObject(item)) {
      warnings.push(`turn ${i + 1} is not an object and was dropped`);
      continue;
    }
    const role = roleOf(layout.roles, item[layout.roleKey]);
    if (!role) {
      warnings.push(`turn ${i + 1} has role ${JSON.stringify(item[layout.roleKey])}, which no format can hold; it was dropped`);
      continue;
    }
    const content = item[layout.contentKey];
    const text = isString(content) ? content : content === null || content === undefined ? '' : JSON.stringify(content);
    const turn: ConvTurn = { role, segments: splitText(text, queues, warnings, numbered) };
    if (role === 'tool_call') {
      const calls = parseFunctionCall(text);
      if (calls) turn.toolCalls = calls;
    }
    if (typeof item['loss_weight'] === 'number') turn.weight = item['loss_weight'];
    turns.push(turn);
  }
  return turns;
}

function readOpenAi(list: unknown, warnings: string[]): ConvTurn[] | undefined {
  if (!Array.isArray(list)) return undefined;
  const turns: ConvTurn[] = [];
  for (const [i, m] of list.entries()) {
    if (!isObject(m)) continue;
    // LLaMA-Factory's roles too: a messages+media record without media reads as OpenAI.
    const role = roleOf(OPENAI_ROLES, m['role']) ?? roleOf(LLAMAFACTORY_MESSAGE_ROLES, m['role']);
    if (!role) {
      warnings.push(`message ${i + 1} has role ${JSON.stringify(m['role'])}, which no format can hold; it was dropped`);
      continue;
    }
    const segments: Segment[] = [];
    const content = m['content'];
    if (isString(content)) segments.push({ type: 'text', text: content });
    else if (Array.isArray(content)) {
      for (const p of content) {
        if (!isObject(p)) continue;
        if (p['type'] === 'text' && isString(p['text'])) segments.push({ type: 'text', text: p['text'] });
        else if (p['type'] === 'image_url' && isObject(p['image_url']) && isString(p['image_url']['url'])) {
          const detail = p['image_url']['detail'];
          segments.push({ type: 'media', kind: 'image', ref: p['image_url']['url'], ...(isString(detail) ? { detail } : {}) });
        }
        else if (p['type'] === 'input_audio' && isObject(p['input_audio']) && isString(p['input_audio']['data'])) {
          const fmt = isString(p['input_audio']['format']) ? p['input_audio']['format'] : 'wav';
          segments.push({ type: 'media', kind: 'audio', ref: `data:audio/${fmt};base64,${p['input_audio']['data']}` });
        } else warnings.push(`a "${String(p['type'])}" part of message ${i + 1} has no equivalent and was dropped`);
      }
    }
    const turn: ConvTurn = { role, segments };
    const calls = toolCallsOf(m['tool_calls']) ?? (role === 'tool_call' && isString(content) ? parseFunctionCall(content) : undefined);
    if (calls) turn.toolCalls = calls;
    if (typeof m['weight'] === 'number') turn.weight = m['weight'];
    if (isString(m['tool_call_id'])) turn.toolCallId = m['tool_call_id'];
    if (isString(m['name'])) turn.name = m['name'];
    turns.push(turn);
  }
  return turns;
}

const V1_MEDIA: Record<string, MediaKind> = { image_url: 'image', image: 'image', video_url: 'video', video: 'video', audio_url: 'audio', audio: 'audio' };

function readV1(list: unknown, warnings: string[]): ConvTurn[] | undefined {
  if (!Array.isArray(list)) return undefined;
  const turns: ConvTurn[] = [];
  for (const [i, m] of list.entries()) {
    if (!isObject(m)) continue;
    const role = roleOf(LLAMAFACTORY_MESSAGE_ROLES, m['role']);
    if (!role) {
      warnings.push(`message ${i + 1} has role ${JSON.stringify(m['role'])}, which no format can hold; it was dropped`);
      continue;
    }
    const segments: Segment[] = [];
    const calls: ToolCall[] = [];
    const content = m['content'];
    if (isString(content)) segments.push({ type: 'text', text: content });
    else if (Array.isArray(content)) {
      for (const p of content) {
        if (!isObject(p) || !isString(p['type'])) continue;
        const v = p['value'];
        if ((p['type'] === 'text' || p['type'] === 'reasoning') && isString(v)) {
          segments.push({ type: 'text', text: v });
        } else if (V1_MEDIA[p['type']] && isString(v)) segments.push({ type: 'media', kind: V1_MEDIA[p['type']]!, ref: v });
        else if (p['type'] === 'tool_call' && isString(v)) calls.push(...(parseFunctionCall(v) ?? []));
        else warnings.push(`a "${p['type']}" part of message ${i + 1} has no equivalent and was dropped`);
      }
    }
    const turn: ConvTurn = { role: calls.length && role === 'assistant' ? 'assistant' : role, segments };
    if (calls.length) turn.toolCalls = calls;
    if (typeof m['loss_weight'] === 'number') turn.weight = m['loss_weight'];
    turns.push(turn);
  }
  return turns;
}

function textTurnOf(role: ConvRole, text: unknown, queues: Queues, warnings: string[]): ConvTurn {
  return { role, segments: splitText(isString(text) ? text : text === undefined || text === null ? '' : JSON.stringify(text), queues, warnings) };
}

/** Reads one record of `format` into a Conversation; undefined with a reason when it has none. */
export function readRecord(value: JsonObject, format: FormatName, ctx: FormatContext): ReadResult {
  const warnings: string[] = [];
  let turns: ConvTurn[] | undefined;
  let queues: Queues = { image: [], video: [], audio: [] };
  let numbered: Map<string, string> | undefined;
  let tools: unknown[] | undefined;
  let silentSingle = false;
  switch (format) {
    case 'openai':
      turns = readOpenAi(value['messages'], warnings);
      tools = toolsOf(value['tools'], warnings);
      break;
    case 'llamafactory-v1':
      turns = readV1(value['messages'], warnings);
      tools = toolsOf(value['tools'], warnings);
      break;
    case 'messages+media':
      queues = queuesOf(value, { image: ['images'], video: ['videos'], audio: ['audios'] });
      turns = readPlaceholderTurns(value['messages'], { roleKey: 'role', contentKey: 'content', roles: LLAMAFACTORY_MESSAGE_ROLES }, queues, warnings);
      if (turns && isString(value['system'])) turns.unshift({ role: 'system', segments: [{ type: 'text', text: value['system'] }] });
      tools = toolsOf(value['tools'], warnings);
      break;
    case 'sharegpt': {
      const layout = sharegptLayout(ctx);
      queues = queuesOf(value, { image: ['image', 'images'], video: ['video', 'videos'], audio: ['audios'] });
      turns = readPlaceholderTurns(value[layout.listKey], layout, queues, warnings);
      if (turns && isString(value['system'])) turns.unshift({ role: 'system', segments: [{ type: 'text', text: value['system'] }] });
      tools = toolsOf(value['tools'], warnings);
      break;
    }
    case 'minicpm-v': {
      const image = value['image'];
      if (isObject(image)) numbered = new Map(Object.entries(image).filter((e): e is [string, string] => isString(e[1])));
      else queues = queuesOf(value, { image: ['image'] });
      turns = readPlaceholderTurns(value['conversations'], { roleKey: 'role', contentKey: 'content', roles: { user: 'user', assistant: 'assistant', system: 'system' } }, queues, warnings, numbered);
      silentSingle = true;
      break;
    }
    case 'alpaca': {
      queues = queuesOf(value, { image: ['images'], video: ['videos'], audio: ['audios'] });
      turns = [];
      if (isString(value['system'])) turns.push({ role: 'system', segments: [{ type: 'text', text: value['system'] }] });
      const history = value['history'];
      if (Array.isArray(history)) {
        for (const pair of history) {
          if (!Array.isArray(pair)) continue;
          turns.push(textTurnOf('user', pair[0], queues, warnings), textTurnOf('assistant', pair[1], queues, warnings));
        }
      }
      // LLaMA-Factory joins instruction and input with a newline.
      const prompt = isString(value['input']) && value['input'] !== '' ? `${isString(value['instruction']) ? value['instruction'] : ''}\n${value['input']}` : value['instruction'];
      turns.push(textTurnOf('user', prompt, queues, warnings), textTurnOf('assistant', value['output'], queues, warnings));
      tools = toolsOf(value['tools'], warnings);
      break;
    }
    case 'qa': {
      const sample = formatByName('qa').normalise(value, ctx);
      queues = queuesOf(value, { image: ['image', 'images'] });
      const question = sample.turns[0]?.texts[0]?.text ?? '';
      const opts = readOptions(value);
      const prompt = opts ? `${question}\n${opts.options.map((o) => `${o.key}. ${o.text}`).join('\n')}` : question;
      turns = [textTurnOf('user', prompt, queues, warnings), textTurnOf('assistant', sample.turns[1]?.texts[0]?.text, queues, warnings)];
      silentSingle = true;
      break;
    }
    case 'classification': {
      queues = queuesOf(value, { image: ['image', 'images'] });
      const label = value['label'];
      turns = [];
      if (isString(value['instruction'])) turns.push(textTurnOf('user', value['instruction'], queues, warnings));
      else warnings.push('no "instruction": the user turn holds only the image; add one consistent question (MiniCPM-V classification as VQA)');
      turns.push({ role: 'assistant', segments: [{ type: 'text', text: isString(label) ? label : JSON.stringify(label) }] });
      silentSingle = true;
      break;
    }
    case 'prompt-completion':
      turns = [textTurnOf('user', value['prompt'], queues, warnings), textTurnOf('assistant', value['completion'], queues, warnings)];
      break;
    case 'preference': {
      // SFT targets keep the preferred answer; the rejected one has nowhere to go.
      const sample = formatByName('preference').normalise(value, ctx);
      queues = queuesOf(value, { image: ['images'], video: ['videos'], audio: ['audios'] });
      turns = sample.turns
        .filter((t) => t.role !== 'unknown')
        .map((t) => ({ role: t.role as ConvRole, segments: [...splitText(t.texts.map((p) => p.text).join('\n'), queues, warnings), ...t.mediaParts.map((m) => ({ type: 'media' as const, kind: m.kind, ref: m.ref }))] }));
      warnings.push('preference data: the preferred answer was kept and the rejected one dropped (the target formats are for SFT)');
      break;
    }
    case 'text':
      return { warnings: ['a "text" record (pre-training text) has no conversation to convert; it was skipped'] };
  }
  if (!turns) return { warnings: [...warnings, `the record has no ${format} conversation to convert; it was skipped`] };
  placeLeftovers(turns, leftoversOf(queues, numbered), warnings, silentSingle);
  for (const t of turns) t.segments = normaliseSegments(t.segments);
  const conv: Conversation = { ...idOf(value), turns };
  if (tools) conv.tools = tools;
  return { conv, warnings };
}


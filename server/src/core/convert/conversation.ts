import type { MediaKind } from '../types';

/**
 * The format-neutral model conversion goes through: turns of text and media segments in reading
 * order. Readers (read.ts) build it from any format, writers (write.ts) render it into the target
 * format; what a target cannot hold becomes a warning on the record, never a silent loss.
 */

/** `detail` is OpenAI's image detail setting (low/high/auto), which only OpenAI records hold. */
export type Segment = { type: 'text'; text: string } | { type: 'media'; kind: MediaKind; ref: string; detail?: string };

export type ConvRole = 'system' | 'user' | 'assistant' | 'tool' | 'tool_call';

/** A structured tool call (OpenAI `tool_calls`); `arguments` is the JSON text of the arguments. */
export interface ToolCall {
  id?: string;
  name: string;
  arguments: string;
}

export interface ConvTurn {
  role: ConvRole;
  segments: Segment[];
  /** Trained on (1) or not (0): OpenAI `weight`, LLaMA-Factory v1 `loss_weight`. */
  weight?: number;
  toolCalls?: ToolCall[];
  /** Tool results: the call they answer. */
  toolCallId?: string;
  name?: string;
}

export interface Conversation {
  id?: string | number;
  turns: ConvTurn[];
  /** Tool definitions as OpenAI lists them: [{type: "function", function: {name, description, parameters}}]. */
  tools?: unknown[];
}

export const PLACEHOLDER: Record<MediaKind, string> = { image: '<image>', video: '<video>', audio: '<audio>' };

/** The turn's text with its media replaced by placeholders (`<image>`), for placeholder formats. */
export function placeholderText(turn: ConvTurn, token: (kind: MediaKind, n: number) => string = (k) => PLACEHOLDER[k], counter = { n: 0 }): string {
  let out = '';
  for (const s of turn.segments) {
    if (s.type === 'text') out += s.text;
    else out += token(s.kind, counter.n++);
  }
  return out;
}

export function textOf(turn: ConvTurn): string {
  let out = '';
  for (const s of turn.segments) if (s.type === 'text') out += s.text;
  return out;
}

export function mediaOf(conv: Conversation, kind?: MediaKind): { kind: MediaKind; ref: string }[] {
  const out: { kind: MediaKind; ref: string }[] = [];
  for (const t of conv.turns) for (const s of t.segments) if (s.type === 'media' && (!kind || s.kind === kind)) out.push({ kind: s.kind, ref: s.ref });
  return out;
}

/** Merges adjacent text segments and drops empty ones: two readings of the same content compare equal. */
export function normaliseSegments(segments: Segment[]): Segment[] {
  const out: Segment[] = [];
  for (const s of segments) {
    const last = out[out.length - 1];
    if (s.type === 'text') {
      if (s.text === '') continue;
      if (last?.type === 'text') last.text += s.text;
      else out.push({ ...s });
    } else out.push({ ...s });
  }
  return out;
}

import type { FormatContext, JsonObject } from '../formats';
import type { FormatName } from '../types';
import type { Conversation } from './conversation';
import { readRecord } from './read';
import { writeRecord, type ConvertTarget } from './write';

export { CONVERT_TARGETS, type ConvertTarget } from './write';
export { readRecord } from './read';
export { writeRecord } from './write';
export type { Conversation, ConvTurn, Segment } from './conversation';

export interface ConvertedRecord {
  /** The converted record; undefined when it could not be converted (the warnings say why). */
  value?: JsonObject;
  /** What was lost or changed, one sentence each. */
  warnings: string[];
}

/**
 * Converts one record from `format` to `to`. `rewriteRef` maps a media reference as written in the
 * source to what the output file needs (relative to the output's folder); the core does no I/O,
 * so the caller resolves paths.
 */
export function convertRecord(value: JsonObject, format: FormatName, to: ConvertTarget, ctx: FormatContext, rewriteRef: (ref: string) => string = (r) => r): ConvertedRecord {
  const read = readRecord(value, format, ctx);
  if (!read.conv) return { warnings: read.warnings };
  const conv: Conversation = {
    ...read.conv,
    turns: read.conv.turns.map((t) => ({ ...t, segments: t.segments.map((s) => (s.type === 'media' ? { ...s, ref: rewriteRef(s.ref) } : s)) })),
  };
  const written = writeRecord(conv, to);
  return { ...(written.value ? { value: written.value } : {}), warnings: [...read.warnings, ...written.warnings] };
}

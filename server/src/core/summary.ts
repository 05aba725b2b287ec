import type { FormatName, MediaKind } from './types';
import type { RelativeRange } from './records/positions';

/**
 * What dataset rules and the report know about a record: small, cached with the record's
 * analysis, independent of where the record sits in the file.
 */
export interface RecordFacts {
  /** Parsed as a JSON object. */
  ok: boolean;
  format?: FormatName;
  candidates: FormatName[];
  /** Hash of the parsed record (for duplicate-sample). */
  hash?: string;
  id?: string;
  media: Record<MediaKind, number>;
  turns: number;
  /** Approximate tokens (characters-based estimate). */
  approxTokens: number;
  /** The record's extent relative to its start (multi-line JSON elements). */
  extent: RelativeRange;
  /** Facts added by rule families (media, leakage, qa, report). */
  extra: Record<string, unknown>;
}

/** Facts plus the record's current position in the file. */
export interface RecordSummary extends RecordFacts {
  index: number;
  line: number;
  column: number;
}

/**
 * The core's data model. Everything here is plain data so that the CLI, the language server and
 * worker threads can pass it around without caring where it came from.
 */

export type Severity = 'error' | 'warning' | 'info' | 'hint';

/** A path into a record's JSON value: object keys and array indexes, outermost first. */
export type JsonPath = ReadonlyArray<string | number>;

/** One record of a dataset file: a JSONL line, or one element of a JSON array. */
export interface RawRecord {
  /** 0-based ordinal of the record within the file. */
  index: number;
  /** UTF-16 offset of the record's first character in the document (BOM excluded). */
  offset: number;
  /** 0-based line and UTF-16 column of the record's first character. */
  line: number;
  column: number;
  /** The record's source text, exactly as in the file (no trailing newline / CR). */
  text: string;
}

/** A position inside one record's text: UTF-16 offsets relative to `RawRecord.text`. */
export interface OffsetRange {
  start: number;
  end: number;
}

/** A minimal text edit relative to the record's text. */
export interface RecordEdit extends OffsetRange {
  newText: string;
}

export interface Fix {
  title: string;
  edits: RecordEdit[];
  /** Safe fixes are applied by "Fix all" and `tunekit fix` without asking. */
  safe: boolean;
  /** Optional grouping key: fixes with the same key can be applied to every record at once. */
  groupKey?: string;
}

/**
 * A problem found in a record. Rules say *where* with a JSON path (cheap); the exact text range is
 * only resolved for records that have issues, by `records/locate.ts`.
 */
export interface Issue {
  code: string;
  severity: Severity;
  message: string;
  /** Where in the record; [] is the whole record. */
  path: JsonPath;
  /** Point at the property's key instead of its value. */
  onKey?: boolean;
  /** A sub-range of the decoded string at `path` (e.g. a token inside a message's text). */
  span?: { start: number; length: number };
  /** An explicit range in the record text; wins over `path` (used by invalid-json). */
  range?: OffsetRange;
  fixes?: Fix[];
  /** Extra machine-readable data for quick fixes and the report. */
  data?: Record<string, unknown>;
  /** A severity chosen by the rule (e.g. a user pattern's own); replaces the code's default, `tunekit.rules` still wins. */
  defaultSeverity?: Severity;
}

/** An issue attached to a record by index (what dataset-level rules produce). */
export interface RecordIssue extends Issue {
  record: number;
}

export const FORMAT_NAMES = [
  'openai',
  'messages+media',
  'llamafactory-v1',
  'sharegpt',
  'minicpm-v',
  'alpaca',
  'qa',
  'classification',
  'preference',
  'prompt-completion',
  'text',
] as const;
export type FormatName = (typeof FORMAT_NAMES)[number];

/** Roles after normalisation. `tool_call` is an assistant-side turn that calls a tool (ShareGPT `function_call`). */
export type CanonicalRole = 'system' | 'user' | 'assistant' | 'tool' | 'tool_call' | 'unknown';

export type MediaKind = 'image' | 'video' | 'audio';

/** A piece of text inside a turn, with the path of the JSON string that holds it. */
export interface TextPiece {
  text: string;
  path: JsonPath;
}

export interface Turn {
  role: CanonicalRole;
  /** The role string as written (`human`, `gpt`, `user`…). */
  rawRole: string;
  /** Path of the role value (for role diagnostics); the turn object itself is its parent. */
  rolePath: JsonPath;
  /** Path of the turn object (or of the field that plays the turn, e.g. `output` in alpaca). */
  path: JsonPath;
  /** Path of the content value (string, parts list or null). */
  contentPath: JsonPath;
  texts: TextPiece[];
  /** True when the content is missing/null (not an empty string). */
  contentNull: boolean;
  /** An assistant turn that calls tools (OpenAI `tool_calls`, v1 `tool_call` parts). */
  hasToolCalls: boolean;
  /** Media parts that sit inside this turn (OpenAI `image_url` parts, v1 image parts). */
  mediaParts: MediaRef[];
}

export interface MediaRef {
  kind: MediaKind;
  /** Path, URL or data: URI, as written. */
  ref: string;
  /** Where the reference sits in the record. */
  path: JsonPath;
  /** Turn index for media that sit inside a turn's content parts. */
  turn?: number;
  /** MiniCPM-V numbered placeholder key (`<image_00>`) when the media is a map entry. */
  key?: string;
}

/** One record normalised to a single model, whatever its format. */
export interface Sample {
  format: FormatName;
  turns: Turn[];
  /** Media listed beside the conversation (images/videos/audios/image fields) and inside parts. */
  media: MediaRef[];
  /** True when the format places media through placeholders in the text (`<image>`). */
  usesPlaceholders: boolean;
  /** The parsed record. */
  value: Record<string, unknown>;
  /** QA/classification: the answer or label, and options when present. */
  answer?: { value: string; path: JsonPath; options?: { key: string; text: string }[]; optionsPath?: JsonPath };
  id?: { value: string; path: JsonPath };
  /** Preference data: the rejected completion(s), validated like turns but not part of the order. */
  extraTurns?: Turn[];
}

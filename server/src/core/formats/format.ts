import type { z } from 'zod';
import type { Settings } from '../settings';
import type { CanonicalRole, FormatName, Issue, JsonPath, MediaRef, Sample, TextPiece, Turn } from '../types';

/** A LLaMA-Factory `dataset_info.json` entry that applies to the file being validated. */
export interface DatasetInfoEntry {
  name: string;
  formatting?: 'alpaca' | 'sharegpt' | 'openai';
  ranking?: boolean;
  columns?: Record<string, string>;
  tags?: Record<string, string>;
  /** Folder of the dataset_info.json (media paths may resolve against it). */
  dir?: string;
}

export interface FormatContext {
  settings: Settings;
  datasetInfo?: DatasetInfoEntry;
  /** Absolute folder of the dataset file (relative media paths resolve against it); unknown for unsaved documents. */
  fileDir?: string;
  /** The workspace folder holding the file: relative media paths may resolve against folders up to it, never above. */
  rootDir?: string;
}

export type Report = (issue: Omit<Issue, 'severity'>) => void;

export type JsonObject = Record<string, unknown>;

/**
 * One dataset format: how to recognise it (cheap, keys only), its structure (a zod schema: the
 * source of `missing-field` / `invalid-field-type`), and how to normalise a record to `Sample`.
 */
export interface FormatDef {
  name: FormatName;
  /** One-line description used in messages ("OpenAI chat: {messages:[{role, content}]}"). */
  describe: string;
  /** 0 when the record is not this format; higher is a better fit. Looks at keys only. */
  detect(value: JsonObject, ctx: FormatContext): number;
  /** Alternative key sets that identify the format; used to name what an unknown record lacks. */
  signatures: string[][];
  /** Top-level keys the format defines; anything else is `unknown-field`. `null` allows any key. */
  knownKeys: ReadonlySet<string> | null;
  schema: z.ZodType;
  /** Best-effort normalisation; never throws, even when the schema failed. */
  normalise(value: JsonObject, ctx: FormatContext): Sample;
  /** Format-specific record checks beyond the schema (weights, part types…). */
  check?(value: JsonObject, sample: Sample, ctx: FormatContext, report: Report): void;
  /** Raw role strings this format accepts, for `unknown-role` messages. */
  roleNames?: readonly string[];
  /** What the trainer does with a record whose roles or structure are broken. */
  consequence: string;
}

export const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);
export const isString = (v: unknown): v is string => typeof v === 'string';

/** Builds a turn from a plain-string (or missing) content. */
export function textTurn(role: CanonicalRole, rawRole: string, path: JsonPath, rolePath: JsonPath, contentPath: JsonPath, content: unknown): Turn {
  const texts: TextPiece[] = isString(content) ? [{ text: content, path: contentPath }] : [];
  return {
    role,
    rawRole,
    path,
    rolePath,
    contentPath,
    texts,
    contentNull: content === null || content === undefined,
    hasToolCalls: false,
    mediaParts: [],
  };
}

/** Media listed in a top-level field: a string, a list of strings, or a map of placeholder → path. */
export function collectMediaField(value: JsonObject, key: string, kind: MediaRef['kind'], out: MediaRef[]): void {
  const v = value[key];
  if (isString(v)) out.push({ kind, ref: v, path: [key] });
  else if (Array.isArray(v)) {
    v.forEach((item, i) => {
      if (isString(item)) out.push({ kind, ref: item, path: [key, i] });
      else if (isObject(item) && isString(item['path'])) out.push({ kind, ref: item['path'], path: [key, i, 'path'] });
      else if (isObject(item) && isString(item['url'])) out.push({ kind, ref: item['url'], path: [key, i, 'url'] });
    });
  } else if (isObject(v)) {
    for (const [k, item] of Object.entries(v)) {
      if (isString(item)) out.push({ kind, ref: item, path: [key, k], key: k });
    }
  }
}

export function roleFrom(map: Readonly<Record<string, CanonicalRole>>, raw: unknown): CanonicalRole {
  return isString(raw) && Object.prototype.hasOwnProperty.call(map, raw) ? map[raw]! : 'unknown';
}

export function emptySample(format: FormatName, value: JsonObject): Sample {
  return { format, turns: [], media: [], usesPlaceholders: false, value };
}

export function idOf(value: JsonObject): Sample['id'] {
  const id = value['id'];
  if (isString(id) || typeof id === 'number') return { value: String(id), path: ['id'] };
  return undefined;
}

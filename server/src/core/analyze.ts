import { parse as parseLenient, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { isCode, defaultSeverity } from './codes';
import { closestFormat, detectFormat, formatByName, type FormatContext, type FormatDef, type JsonObject } from './formats';
import { jsonType } from './formats/qa';
import { exceedsNesting, MAX_LOCATE_DEPTH, RecordLocator } from './records/locate';
import { toRelative, type RelativeRange } from './records/positions';
import type { RecordRule, RuleServices } from './rules/rule';
import type { Settings } from './settings';
import type { RecordFacts } from './summary';
import type { Fix, Issue, JsonPath, RawRecord, Severity } from './types';
import { zodIssuesToIssues } from './zodIssues';
import { stableHash } from './hash';

/** An issue with its range resolved relative to its record (cacheable: records move, text does not). */
export interface LocatedIssue {
  code: string;
  severity: Severity;
  message: string;
  rel: RelativeRange;
  fixes?: Fix[];
  data?: Record<string, unknown>;
}

export interface RecordAnalysis {
  issues: LocatedIssue[];
  facts: RecordFacts;
  /** True when the result depends on something not yet known (e.g. a media probe in flight): do not cache. */
  volatile: boolean;
}

export interface AnalyzeOptions {
  settings: Settings;
  formatContext: FormatContext;
  rules: readonly RecordRule[];
  services: RuleServices;
  /** Counts rule invocations (tests prove incrementality with it). */
  counters?: { ruleInvocations: number; recordsAnalyzed: number };
}

/** Records over this many UTF-16 units get `record-too-large` and only the cheap checks. */
export const MAX_RECORD_CHARS = 4_000_000;

export function resolveSeverity(code: string, settings: Settings): Severity | 'off' {
  const override = settings.rules[code];
  if (override) return override;
  return isCode(code) ? defaultSeverity(code, settings.target) : 'warning';
}

/** Validates one record. Never throws: a broken record yields issues. */
export function analyzeRecord(record: RawRecord, opts: AnalyzeOptions): RecordAnalysis {
  if (opts.counters) opts.counters.recordsAnalyzed++;
  const text = record.text;
  const locator = new RecordLocator(text);
  const raw: Omit<Issue, 'severity'>[] = [];
  const report = (issue: Omit<Issue, 'severity'>): void => {
    raw.push(issue);
  };
  const facts: RecordFacts = {
    ok: false,
    candidates: [],
    media: { image: 0, video: 0, audio: 0 },
    turns: 0,
    approxTokens: 0,
    extent: extentOf(text),
    extra: {},
  };
  let volatile = false;

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    report(invalidJson(text));
    return finish();
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    report({
      code: 'not-an-object',
      path: [],
      message: `The record is ${jsonType(value)}, not an object; every record must be a JSON object such as {"messages": [...]}, and loaders fail on anything else.`,
    });
    return finish();
  }
  const obj = value as JsonObject;
  facts.ok = true;
  facts.hash = stableHash(text, obj);

  const settings = opts.settings;
  const ctx = opts.formatContext;
  const detection = detectFormat(obj, ctx);
  facts.candidates = detection.candidates;
  let format: FormatDef | undefined;
  if (settings.format !== 'auto') {
    format = formatByName(settings.format);
    if (!detection.candidates.includes(format.name)) {
      report(shapeMismatch(obj, format));
    }
  } else {
    format = detection.best;
  }
  if (!format) {
    const near = closestFormat(obj);
    const keys = Object.keys(obj);
    report({
      code: 'unknown-format',
      path: [],
      message:
        `This record (keys: ${keys.length ? keys.slice(0, 6).join(', ') : 'none'}) matches no known dataset format; ` +
        `closest is ${near.format.name} (${near.format.describe}), which also needs ${near.lacks.map((k) => `"${k}"`).join(', ') || 'other fields'}. Trainers skip or crash on it.`,
    });
    return finish();
  }
  facts.format = format.name;

  const parsed = format.schema.safeParse(obj);
  if (!parsed.success) for (const issue of zodIssuesToIssues(parsed.error.issues, obj, format)) report(issue);
  if (format.knownKeys) {
    for (const key of Object.keys(obj)) {
      if (!format.knownKeys.has(key)) {
        report({
          code: 'unknown-field',
          path: [key],
          onKey: true,
          message: `"${key}" is not a field of the ${format.name} format; ${settings.target === 'together' ? 'Together rejects the file' : 'trainers ignore it'}.`,
        });
      }
    }
  }

  const sample = format.normalise(obj, ctx);
  facts.turns = sample.turns.length;
  if (sample.id) facts.id = sample.id.value;
  for (const m of sample.media) facts.media[m.kind]++;
  format.check?.(obj, sample, ctx, report);

  if (text.length <= MAX_RECORD_CHARS) {
    for (const rule of opts.rules) {
      if (rule.formats && !rule.formats.includes(format.name)) continue;
      if (opts.counters) opts.counters.ruleInvocations++;
      try {
        rule.check({
          record,
          value: obj,
          sample,
          format,
          settings,
          formatContext: ctx,
          facts,
          report,
          anchor: (i) => toRelative(text, locator.locate(i), locator.lines),
          services: opts.services,
        });
      } catch (err) {
        // A rule bug must not take validation down; say so on the record instead.
        report({ code: 'internal-error', path: [], message: `Tunekit rule "${rule.name}" failed on this record: ${String(err)}` });
      }
      if (facts.extra['volatile'] === true) volatile = true;
    }
  } else {
    report({
      code: 'record-too-large',
      path: [],
      message: `This record is ${(text.length / 1e6).toFixed(1)} M characters; Tunekit checked its JSON and format only. Trainers will truncate it at the cutoff length.`,
    });
  }
  return finish();

  function finish(): RecordAnalysis {
    const issues: LocatedIssue[] = [];
    for (const issue of raw) {
      const resolved = resolveSeverity(issue.code, opts.settings);
      if (resolved === 'off') continue;
      const severity = issue.defaultSeverity && !opts.settings.rules[issue.code] ? issue.defaultSeverity : resolved;
      const located: LocatedIssue = {
        code: issue.code,
        severity,
        message: issue.message,
        rel: toRelative(text, locator.locate(issue), locator.lines),
      };
      if (issue.fixes) located.fixes = issue.fixes;
      if (issue.data) located.data = issue.data;
      issues.push(located);
    }
    delete facts.extra['volatile'];
    return { issues, facts, volatile };
  }
}

function extentOf(text: string): RelativeRange {
  let line = 0;
  let last = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) {
    line++;
    last = i + 1;
  }
  return { line: 0, character: 0, endLine: line, endCharacter: text.length - last };
}

function invalidJson(text: string): Omit<Issue, 'severity'> {
  if (exceedsNesting(text, MAX_LOCATE_DEPTH)) {
    // jsonc-parser would overflow the stack finding the error; JSON.parse already said it is broken.
    const lineEnd = text.indexOf('\n');
    return {
      code: 'invalid-json',
      path: [],
      range: { start: 0, end: lineEnd < 0 ? text.length : lineEnd },
      message: `Invalid JSON, nested more than ${MAX_LOCATE_DEPTH} levels deep. Loaders stop at this record (LLaMA-Factory and the datasets library fail the whole file).`,
    };
  }
  const errors: ParseError[] = [];
  parseLenient(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  const at = first ? first.offset : 0;
  const lineEnd = text.indexOf('\n', at);
  const what = first ? describeParseError(printParseErrorCode(first.error)) : 'it is not valid JSON';
  const col = columnOf(text, at);
  return {
    code: 'invalid-json',
    path: [],
    // An error at the very end of the line (a missing "}") still gets a visible one-character range.
    range: zeroWidthSafe(at, lineEnd < 0 ? text.length : lineEnd),
    message: `Invalid JSON ${at >= (lineEnd < 0 ? text.length : lineEnd) ? 'at the end of the line' : `at column ${col + 1}`}: ${what}. Loaders stop at this record (LLaMA-Factory and the datasets library fail the whole file).`,
  };
}

function zeroWidthSafe(start: number, end: number): { start: number; end: number } {
  return start < end || start === 0 ? { start, end: Math.max(start, end) } : { start: start - 1, end };
}

function columnOf(text: string, offset: number): number {
  const nl = text.lastIndexOf('\n', offset - 1);
  return offset - (nl + 1);
}

function describeParseError(code: string): string {
  switch (code) {
    case 'InvalidSymbol':
      return 'unexpected character';
    case 'InvalidNumberFormat':
      return 'malformed number';
    case 'PropertyNameExpected':
      return 'a property name in double quotes was expected';
    case 'ValueExpected':
      return 'a value was expected';
    case 'ColonExpected':
      return '":" was expected after the property name';
    case 'CommaExpected':
      return '"," was expected between values';
    case 'CloseBraceExpected':
      return '"}" was expected (the object is not closed)';
    case 'CloseBracketExpected':
      return '"]" was expected (the array is not closed)';
    case 'EndOfFileExpected':
      return 'extra text after the end of the record (two records on one line?)';
    case 'InvalidCommentToken':
      return 'comments are not allowed in JSON';
    case 'UnexpectedEndOfComment':
    case 'UnexpectedEndOfString':
      return 'the string is not closed';
    case 'UnexpectedEndOfNumber':
      return 'the number is cut off';
    case 'InvalidUnicode':
      return 'invalid \\u escape';
    case 'InvalidEscapeCharacter':
      return 'invalid escape sequence in a string';
    case 'InvalidCharacter':
      return 'a control character (e.g. a raw tab or newline) inside a string must be escaped';
    default:
      return code;
  }
}

function shapeMismatch(obj: JsonObject, format: FormatDef): Omit<Issue, 'severity'> {
  const sig = format.signatures[0] ?? [];
  const lacks = sig.filter((k) => !(k in obj));
  return {
    code: 'missing-field',
    path: [],
    message: `tunekit.format is "${format.name}" but this record does not have that shape${lacks.length ? ` (no ${lacks.map((k) => `"${k}"`).join(', ')})` : ''}; expected ${format.describe}.`,
  };
}

export type { JsonPath };

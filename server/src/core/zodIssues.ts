import type { z } from 'zod';
import type { FormatDef, JsonObject } from './formats';
import { jsonType } from './formats/qa';
import type { Issue, JsonPath } from './types';

/** Renders a JSON path the way users write it: messages[2].content. */
export function pathText(path: JsonPath): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out || 'the record';
}

function at(value: unknown, path: JsonPath): unknown {
  let cur = value;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
  null: 'null',
};

/**
 * Turns zod's structural issues into `missing-field` / `invalid-field-type` with a message that
 * names the field, what was expected and what the trainer does with such a record. Only the
 * first issue per field is kept: one broken turn should not produce a wall of diagnostics.
 */
export function zodIssuesToIssues(issues: readonly z.core.$ZodIssue[], obj: JsonObject, format: FormatDef): Omit<Issue, 'severity'>[] {
  const out: Omit<Issue, 'severity'>[] = [];
  const seen = new Set<string>();
  for (const issue of flatten(issues, obj)) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    const key = path.join('\u0000');
    if (seen.has(key)) continue;
    seen.add(key);
    const actual = at(obj, path);
    const name = pathText(path);
    const expected = expectedOf(issue);
    if (actual === undefined) {
      const parent = path.slice(0, -1);
      out.push({
        code: 'missing-field',
        path: parent,
        message: `${name} is missing: the ${format.name} format requires it${expected ? ` (${expected})` : ''}; ${format.consequence}.`,
        data: { field: name },
      });
    } else {
      out.push({
        code: 'invalid-field-type',
        path,
        message: `${name} is ${describe(actual)}, expected ${expected ?? 'another value'}; ${format.consequence}.`,
        data: { field: name },
      });
    }
  }
  return out;
}

/**
 * A union error (e.g. content: string | parts[] | null) says little; when the value has the type
 * of one branch (it is a list), that branch's own issues say exactly which part is wrong.
 */
function flatten(issues: readonly z.core.$ZodIssue[], obj: JsonObject): z.core.$ZodIssue[] {
  const out: z.core.$ZodIssue[] = [];
  for (const i of issues) {
    if (i.code === 'invalid_union' && i.errors.length > 0) {
      const actual = at(obj, i.path.filter((p): p is string | number => typeof p !== 'symbol'));
      const sameType = i.errors.find(
        (branch) => branch.length > 0 && !branch.some((b) => b.path.length === 0 && (b.code === 'invalid_type' || b.code === 'invalid_value')),
      );
      if (actual !== null && typeof actual === 'object' && sameType) {
        out.push(...flatten(sameType.map((b) => ({ ...b, path: [...i.path, ...b.path] })), obj));
        continue;
      }
    }
    out.push(i);
  }
  return out;
}

function expectedOf(issue: z.core.$ZodIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return EXPECTED[issue.expected] ?? issue.expected;
    case 'invalid_value':
      return `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union': {
      const kinds = new Set<string>();
      for (const branch of issue.errors) for (const b of branch) if (b.code === 'invalid_type' && b.path.length === 0) kinds.add(EXPECTED[b.expected] ?? b.expected);
      if ('note' in issue && issue.note === 'No matching discriminator') return 'a part with a known "type"';
      return kinds.size ? [...kinds].join(' or ') : undefined;
    }
    default:
      return issue.message;
  }
}

function describe(v: unknown): string {
  if (typeof v === 'string') return v.length > 30 ? `the string "${v.slice(0, 27)}…"` : `the string ${JSON.stringify(v)}`;
  if (typeof v === 'number' || typeof v === 'boolean') return `${jsonType(v)} (${String(v)})`;
  return jsonType(v);
}

import { mediaLocation, mediaProbeOf } from '../media';
import type { RecordRule, RecordRuleContext } from '../rules/rule';
import type { CanonicalRole } from '../types';
import { imageTokenRule } from './imageTokens';
import { textSignature } from './minhash';
import { tokenCounterOf } from './tokenCounter';

/**
 * Per-record facts the dataset report aggregates, cached with the record's analysis, so a report
 * over an edited file re-reads only the changed records. Never the text itself: counts, and a
 * 64-value MinHash signature for near-duplicates. Kept in `facts.extra.report` as one compact
 * string (about 190 bytes a record instead of about 500 as an object with arrays), so a million
 * records stay in memory next to the compact summary columns.
 */
export interface ReportFacts {
  /** Characters per role: system, user, assistant (with tool calls), tool results. */
  c: [number, number, number, number];
  /** Text tokens per role, same order, by the injected token counter. */
  t: [number, number, number, number];
  /** Image tokens (per the target's rule); images whose size was known. */
  it: number;
  ik: number;
  /** User turns (exchanges). */
  ut: number;
  /** The token counter's name. */
  tk: string;
  /** MinHash signature of the record's text and media references. */
  sig?: string;
}

const NUMBERS = 11;

/** Eleven 32-bit numbers as 22 UTF-16 units, then the signature. */
export function encodeReportFacts(f: ReportFacts): string {
  const nums = [...f.c, ...f.t, f.it, f.ik, f.ut];
  const codes = new Array<number>(NUMBERS * 2);
  for (let i = 0; i < NUMBERS; i++) {
    const n = Math.min(0xffffffff, Math.max(0, Math.round(nums[i]!)));
    codes[2 * i] = Math.floor(n / 0x10000);
    codes[2 * i + 1] = n & 0xffff;
  }
  // One flat string: concatenating would keep a cons string of two parts alive per record.
  if (f.sig) for (let i = 0; i < f.sig.length; i++) codes.push(f.sig.charCodeAt(i));
  return String.fromCharCode(...codes);
}

export function decodeReportFacts(s: string, tk: string): ReportFacts | undefined {
  if (s.length < NUMBERS * 2) return undefined;
  const n = (i: number): number => s.charCodeAt(2 * i) * 0x10000 + s.charCodeAt(2 * i + 1);
  const f: ReportFacts = { c: [n(0), n(1), n(2), n(3)], t: [n(4), n(5), n(6), n(7)], it: n(8), ik: n(9), ut: n(10), tk };
  if (s.length > NUMBERS * 2) f.sig = s.slice(NUMBERS * 2);
  return f;
}

export const ROLE_KEYS = ['system', 'user', 'assistant', 'tool'] as const;
export type RoleKey = (typeof ROLE_KEYS)[number];

const ROLE_INDEX: Partial<Record<CanonicalRole, number>> = { system: 0, user: 1, assistant: 2, tool_call: 2, tool: 3 };

export function reportFactsOf(extra: Record<string, unknown>): ReportFacts | undefined {
  const r = extra['report'];
  return typeof r === 'string' ? decodeReportFacts(r, typeof extra['tokenizer'] === 'string' ? extra['tokenizer'] : 'estimate') : undefined;
}

/** The facts of the record being analysed, kept decoded for the rest of its analysis. */
const current = new WeakMap<RecordRuleContext['facts'], ReportFacts>();

/**
 * Lengths and tokens of a record (memoised per analysis: `too-long` and the report share one
 * count, so the diagnostic and the report's "over the limit" agree).
 */
export function recordTokens(ctx: RecordRuleContext): ReportFacts {
  const known = current.get(ctx.facts);
  if (known) return known;
  const counter = tokenCounterOf(ctx.services);
  const facts: ReportFacts = { c: [0, 0, 0, 0], t: [0, 0, 0, 0], it: 0, ik: 0, ut: 0, tk: counter.name };
  for (const turn of ctx.sample.turns) {
    const i = ROLE_INDEX[turn.role];
    if (turn.role === 'user') facts.ut++;
    if (i === undefined) continue;
    for (const p of turn.texts) {
      facts.c[i] = facts.c[i]! + p.text.length;
      facts.t[i] = facts.t[i]! + counter.count(p.text);
    }
  }
  const images = ctx.sample.media.filter((m) => m.kind === 'image');
  if (images.length > 0) {
    const rule = imageTokenRule(ctx.settings.target, ctx.settings.report.imageTokens);
    const probe = rule.byResolution ? mediaProbeOf(ctx.services) : undefined;
    for (const m of images) {
      let width: number | undefined;
      let height: number | undefined;
      if (probe) {
        for (const c of mediaLocation(m.ref, ctx.formatContext, ctx.value).candidates) {
          const info = probe.peek(c);
          if (info?.status === 'ok' && info.width && info.height) {
            width = info.width;
            height = info.height;
            break;
          }
        }
      }
      if (width !== undefined) facts.ik++;
      facts.it += rule.tokens(width, height);
    }
  }
  current.set(ctx.facts, facts);
  return facts;
}

export function totalTokens(f: ReportFacts): number {
  return f.t[0] + f.t[1] + f.t[2] + f.t[3] + f.it;
}

/**
 * Records the report's per-record facts (counts shared with `too-long`, and the near-duplicate
 * signature) in `extra`; reports nothing. Only report validators run it, so validating alone
 * neither encodes nor keeps them.
 */
export const reportFactsRule: RecordRule = {
  name: 'reportFacts',
  codes: [],
  check(ctx) {
    const facts = recordTokens(ctx);
    const texts: string[] = [];
    for (const turn of ctx.sample.turns) for (const p of turn.texts) texts.push(p.text);
    const sig = textSignature(
      texts.join('\n'),
      ctx.sample.media.map((m) => m.ref),
    );
    if (sig !== undefined) facts.sig = sig;
    ctx.facts.extra['report'] = encodeReportFacts(facts);
    // The counter's name is the same string object for every record: a pointer, not a copy.
    ctx.facts.extra['tokenizer'] = facts.tk;
  },
};

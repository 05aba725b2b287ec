import { findBoilerplate } from '../leakage/boilerplate';
import { quickLiteral, StringEditor } from '../leakage/edits';
import { findPromptLeaks, type PromptHit, type Side } from '../leakage/prompts';
import { spanCandidates } from '../leakage/repeated';
import { findSlots, type SlotHit } from '../leakage/slots';
import { findTokens } from '../leakage/tokens';
import { sentenceAround, withSeparator } from '../leakage/text';
import { rawOffsetInString } from '../records/locate';
import { toRelative, type RelativeRange } from '../records/positions';
import type { Settings } from '../settings';
import type { RecordSummary } from '../summary';
import type { CanonicalRole, Fix, JsonPath, Turn } from '../types';
import type { DatasetIssue, DatasetRule, RecordRule, RecordRuleContext } from './rule';

/**
 * The "Prompt-template leakage and content" family (DIAGNOSTICS.md). One record rule walks every
 * text of the record once and runs each detector on it; `repeated-boilerplate` is a dataset rule
 * over span hashes the record rule leaves in the facts, so an edit never rescans the file.
 *
 * Negative examples (a preference pair's rejected side, KTO's undesirable answers) are not
 * checked for tokens, scaffolds or slots: a degenerate continuation is what such a sample is
 * for, and the trainer pushes the model away from it. Teacher boilerplate is reported there too:
 * it still shows the teacher's voice in the data.
 */

interface Piece {
  text: string;
  path: JsonPath;
  role: CanonicalRole;
  /** A negative example: the rejected side of a pair, or a KTO answer labelled undesirable. */
  negative?: 'rejected' | 'undesirable';
}

function pieces(ctx: RecordRuleContext): Piece[] {
  const { sample, value } = ctx;
  const undesirable = sample.format === 'preference' && (value['label'] === false || value['kto_tag'] === false);
  const out: Piece[] = [];
  const add = (turns: readonly Turn[], rejected: boolean): void => {
    for (const t of turns) {
      const negative = rejected ? 'rejected' : undesirable && t.role === 'assistant' ? 'undesirable' : undefined;
      for (const p of t.texts) out.push({ text: p.text, path: p.path, role: t.role, ...(negative ? { negative } : {}) });
    }
  };
  add(sample.turns, false);
  if (sample.extraTurns) add(sample.extraTurns, true);
  return out;
}

function sideOf(role: CanonicalRole): Side | undefined {
  if (role === 'user') return 'prompt';
  if (role === 'system') return 'system';
  if (role === 'assistant') return 'answer';
  return undefined;
}

function where(p: Piece): string {
  switch (p.role) {
    case 'system':
      return 'the system prompt';
    case 'user':
      return 'the prompt';
    case 'assistant':
      return p.negative === 'rejected' ? 'the rejected answer' : p.negative === 'undesirable' ? 'an answer labelled undesirable' : 'the answer';
    case 'tool':
      return 'a tool result';
    case 'tool_call':
      return 'a tool call';
    default:
      return 'this turn';
  }
}

/** Does the record offer tools (function calling)? Then capability refusals are intended. */
function offersTools(ctx: RecordRuleContext): boolean {
  const tools = ctx.value['tools'] ?? ctx.value['functions'];
  if ((typeof tools === 'string' && tools.trim() !== '' && tools.trim() !== '[]') || (Array.isArray(tools) && tools.length > 0)) return true;
  return ctx.sample.turns.some((t) => t.role === 'tool' || t.role === 'tool_call' || t.hasToolCalls);
}

const compiled = new WeakMap<Settings['leakage'], { patterns: { re: RegExp; message: string; severity: Settings['leakage']['patterns'][number]['severity'] }[]; allow: Set<string> }>();

function leakageSettings(settings: Settings): { patterns: { re: RegExp; message: string; severity: Settings['leakage']['patterns'][number]['severity'] }[]; allow: Set<string> } {
  let c = compiled.get(settings.leakage);
  if (!c) {
    c = {
      patterns: settings.leakage.patterns.flatMap((p) => {
        try {
          return [{ re: new RegExp(p.regex, 'gu'), message: p.message, severity: p.severity }];
        } catch {
          return [];
        }
      }),
      allow: new Set(settings.leakage.allowTokens),
    };
    compiled.set(settings.leakage, c);
  }
  return c;
}

const on = (ctx: RecordRuleContext, code: string): boolean => ctx.settings.rules[code] !== 'off';

export const leakageRule: RecordRule = {
  name: 'leakage',
  codes: ['leaked-special-token', 'leaked-generation-prompt', 'unfilled-template-slot', 'ai-boilerplate', 'leakage-pattern'],
  check(ctx) {
    const all = pieces(ctx);
    if (all.length === 0) return;
    const { patterns, allow } = leakageSettings(ctx.settings);
    const editor = new StringEditor(ctx.record.text);
    const pretraining = ctx.sample.format === 'text';
    const doTokens = on(ctx, 'leaked-special-token');
    const doPrompts = on(ctx, 'leaked-generation-prompt') && !pretraining;
    const doSlots = on(ctx, 'unfilled-template-slot');
    const doBoilerplate = on(ctx, 'ai-boilerplate') && !pretraining;
    let tools: boolean | undefined;
    const slots: { piece: Piece; hit: SlotHit }[] = [];

    for (const p of all) {
      const side = sideOf(p.role);
      let covered: PromptHit[] = [];
      if (doPrompts && side && !p.negative) {
        covered = findPromptLeaks(p.text, side);
        for (const hit of covered) reportPrompt(ctx, editor, p, hit);
      }
      if (doTokens && !p.negative) {
        for (const hit of findTokens(p.text, allow)) {
          if (covered.some((c) => hit.start < c.end && c.start < hit.end)) continue;
          const del = withSeparator(p.text, hit.start, hit.end);
          const edit = editor.edit(p.path, p.text, { start: del.start, end: del.end, newText: '' });
          ctx.report({
            code: 'leaked-special-token',
            path: p.path,
            span: { start: hit.start, length: hit.end - hit.start },
            message: `"${hit.token}" is ${/^[AEIOU]/.test(hit.family) ? 'an' : 'a'} ${hit.family} control token inside ${where(p)}; tokenizers turn it into the real control token, silently changing the training sequence. Remove it (or list it in tunekit.leakage.allowTokens if the dataset intends it).`,
            data: { token: hit.token, family: hit.family },
            ...(edit ? { fixes: [{ title: `Remove "${hit.token}"`, edits: [edit], safe: true, groupKey: `leaked-special-token:${hit.token}` }] } : {}),
          });
        }
      }
      if (doSlots && !p.negative && p.role !== 'tool' && p.role !== 'tool_call') {
        for (const hit of findSlots(p.text)) slots.push({ piece: p, hit });
      }
      if (doBoilerplate && p.role === 'assistant') {
        tools ??= offersTools(ctx);
        const hit = findBoilerplate(p.text, tools)[0];
        if (hit) {
          const s = sentenceAround(p.text, hit.start, hit.end);
          const whole = p.text.slice(0, s.start).trim() === '' && p.text.slice(s.end).trim() === '';
          const del = withSeparator(p.text, s.start, s.end);
          const edit = whole ? undefined : editor.edit(p.path, p.text, { start: del.start, end: del.end, newText: '' });
          const what = hit.kind === 'identity' ? 'identity' : hit.kind === 'cutoff' ? 'knowledge-cutoff' : 'refusal';
          ctx.report({
            code: 'ai-boilerplate',
            path: p.path,
            span: { start: hit.start, length: hit.end - hit.start },
            message: `"${hit.phrase}" is the teacher model's ${what} boilerplate in ${where(p)}; the fine-tuned model learns to talk like the teacher (open-instruct filters such samples). Rewrite or drop it.`,
            data: { kind: hit.kind },
            ...(edit ? { fixes: [{ title: 'Remove this sentence', edits: [edit], safe: false }] } : {}),
          });
        }
      }
      for (const pat of patterns) {
        pat.re.lastIndex = 0;
        for (let m = pat.re.exec(p.text); m; m = pat.re.exec(p.text)) {
          if (m[0].length === 0) {
            pat.re.lastIndex++;
            continue;
          }
          ctx.report({
            code: 'leakage-pattern',
            path: p.path,
            span: { start: m.index, length: m[0].length },
            message: pat.message,
            defaultSeverity: pat.severity,
            data: { regex: pat.re.source },
          });
        }
      }
    }

    if (slots.length > 0) {
      // One finding per record, on the first slot: the record is what the user fills or drops.
      const first = slots[0]!;
      const names = [...new Set(slots.map((s) => s.hit.slot))];
      const listed = names.slice(0, 3).map((n) => `"${n}"`).join(', ') + (names.length > 3 ? ` and ${names.length - 3} more` : '');
      ctx.report({
        code: 'unfilled-template-slot',
        path: first.piece.path,
        span: { start: first.hit.start, length: first.hit.end - first.hit.start },
        message: `Template slot${names.length > 1 ? 's' : ''} ${listed} never filled in: the model learns to say ${names.length > 1 ? 'them' : 'it'} literally. Replace ${names.length > 1 ? 'them' : 'it'} with real values${names.some((n) => n === '{{name}}' || n === '{{author}}') ? " (LLaMA-Factory's identity data ships {{name}} / {{author}} for you to replace)" : ''} or drop the record.`,
        data: { slots: names },
      });
    }
  },
};

function reportPrompt(ctx: RecordRuleContext, editor: StringEditor, p: Piece, hit: PromptHit): void {
  let fixes: Fix[] | undefined;
  if (hit.edits && hit.fixTitle) {
    const edits = editor.edits(p.path, p.text, hit.edits);
    if (edits) fixes = [{ title: hit.fixTitle, edits, safe: hit.safe, ...(hit.safe ? { groupKey: `leaked-generation-prompt:${hit.fixTitle}` } : {}) }];
  }
  ctx.report({
    code: 'leaked-generation-prompt',
    path: p.path,
    span: { start: hit.start, length: hit.end - hit.start },
    message: hit.message,
    ...(fixes ? { fixes } : {}),
  });
}

// ---------------------------------------------------------------------------------------------
// repeated-boilerplate

/**
 * One candidate span in the facts: key (role + hash), text index, decoded range, where it is in
 * the record, what to delete. Kept as one compact string per record (`|`-separated entries of
 * space-separated fields): a big file holds these for every record until the dataset rule runs.
 */
interface SpanFact {
  key: string;
  piece: number;
  start: number;
  end: number;
  rel: RelativeRange;
  del: RelativeRange;
}

const SPANS = 'leakage.spans';
const ROLE_KEY: Partial<Record<CanonicalRole, string>> = { user: 'u', assistant: 'a' };


function decodeSpans(encoded: unknown): SpanFact[] {
  if (typeof encoded !== 'string' || encoded === '') return [];
  return encoded.split('|').map((e) => {
    const [key, ...n] = e.split(' ');
    const v = n.map(Number);
    return {
      key: key!,
      piece: v[0]!,
      start: v[1]!,
      end: v[2]!,
      rel: { line: v[3]!, character: v[4]!, endLine: v[5]!, endCharacter: v[6]! },
      del: { line: v[7]!, character: v[8]!, endLine: v[9]!, endCharacter: v[10]! },
    };
  });
}

/** The keys of a record's spans, without decoding the rest. */
function spanKeys(encoded: unknown): string[] {
  if (typeof encoded !== 'string' || encoded === '') return [];
  return encoded.split('|').map((e) => e.slice(0, e.indexOf(' ')));
}

/** Leaves the record's candidate spans in the facts for `repeatedBoilerplateRule`. Reports nothing itself. */
export const repeatedSpansRule: RecordRule = {
  name: 'repeatedSpans',
  codes: ['repeated-boilerplate'],
  check(ctx) {
    if (ctx.settings.rules['repeated-boilerplate'] === 'off') return;
    const format = ctx.sample.format;
    // Pre-training text has no roles; a classification instruction is meant to be the same everywhere.
    if (format === 'text' || format === 'classification') return;
    const min = ctx.settings.leakage.repeatedMinLength;
    const text = ctx.record.text;
    const facts: string[] = [];
    const seen = new Set<string>();
    // JSON Lines records are one line: a raw offset is the column, no line counting needed.
    const oneLine = text.indexOf('\n') < 0;
    const rel = (a: number, b: number): string => {
      if (oneLine) return `0 ${a} 0 ${b}`;
      const r = toRelative(text, { start: a, end: b });
      return `${r.line} ${r.character} ${r.endLine} ${r.endCharacter}`;
    };
    let index = 0;
    for (const turn of ctx.sample.turns) {
      const role = ROLE_KEY[turn.role];
      for (const p of turn.texts) {
        const pieceIndex = index++;
        // System prompts shared by every record are normal, tool traffic is data: neither is a template leftover.
        if (!role || p.text.length < min) continue;
        const candidates = spanCandidates(p.text, min);
        if (candidates.length === 0) continue;
        const raw = locatePiece(ctx, p.path, p.text);
        if (!raw) continue;
        for (const c of candidates) {
          const key = role + c.hash;
          if (seen.has(key)) continue;
          seen.add(key);
          const start = raw(c.start);
          const end = raw(c.end);
          const delStart = c.delStart === c.start ? start : raw(c.delStart);
          const delEnd = c.delEnd === c.end ? end : raw(c.delEnd);
          facts.push(`${key} ${pieceIndex} ${c.start} ${c.end} ${rel(start, end)} ${rel(delStart, delEnd)}`);
        }
      }
    }
    if (facts.length) ctx.facts.extra[SPANS] = facts.join('|');
  },
};

/**
 * Maps decoded indexes of the string at `path` to raw record offsets: by a unique text search for
 * the quoted string (one search per text, not per span), else through the syntax tree.
 */
function locatePiece(ctx: RecordRuleContext, path: JsonPath, decoded: string): ((i: number) => number) | undefined {
  const quick = quickLiteral(ctx.record.text, decoded);
  if (quick) return quick;
  const text = ctx.record.text;
  const at = new StringEditor(text).literalOffset(path, decoded);
  if (at === undefined) return undefined;
  return (i) => rawOffsetInString(text, at, i);
}

const ROLE_NAME: Record<string, string> = { u: 'prompt', a: 'answer' };

/** `repeated-boilerplate`: the same long span in the same role across a large share of the records. */
export const repeatedBoilerplateRule: DatasetRule = {
  name: 'repeatedBoilerplate',
  codes: ['repeated-boilerplate'],
  check(summaries: readonly RecordSummary[], ctx) {
    const { repeatedMinShare, repeatedMinRecords } = ctx.settings.leakage;
    // Counting every span of a big file exactly would hold one map entry per distinct span (half a
    // gigabyte for a million records). A Misra–Gries pass with a fixed number of counters keeps
    // every span that occurs more than total / (counters + 1) times, whatever else the file holds;
    // when the threshold is above that bound, a second pass counts just those exactly.
    const heavy = new HeavyHitters(HEAVY_HITTERS);
    let records = 0;
    for (const s of summaries) {
      if (!s.ok) continue;
      records++;
      for (const key of spanKeys(s.extra[SPANS])) heavy.add(key);
    }
    const threshold = Math.max(repeatedMinRecords, Math.ceil(repeatedMinShare * records));
    const counts = new Map<string, number>();
    const slack = heavy.total / (HEAVY_HITTERS + 1);
    const bounded = threshold > slack;
    // A kept counter undercounts its span by at most `slack`: when even the largest cannot reach
    // the threshold, no span does (the clean file's case: no second pass).
    if (bounded && heavy.largest() + slack < threshold) return [];
    if (bounded) for (const key of heavy.candidates()) counts.set(key, 0);
    for (const s of summaries) {
      if (!s.ok) continue;
      for (const key of spanKeys(s.extra[SPANS])) {
        const n = counts.get(key);
        if (n !== undefined) counts.set(key, n + 1);
        else if (!bounded) counts.set(key, 1);
      }
    }
    let any = false;
    for (const n of counts.values()) if (n >= threshold) any = true;
    if (!any) return [];
    const out: DatasetIssue[] = [];
    for (const s of summaries) {
      const keys = spanKeys(s.extra[SPANS]);
      if (!keys.some((k) => (counts.get(k) ?? 0) >= threshold)) continue;
      const frequent = decodeSpans(s.extra[SPANS])
        .filter((f) => (counts.get(f.key) ?? 0) >= threshold)
        .sort((a, b) => b.end - b.start - (a.end - a.start));
      const kept: SpanFact[] = [];
      // Of overlapping frequent spans (a line and its own first sentence) keep the longest.
      for (const f of frequent) if (!kept.some((k) => k.piece === f.piece && f.start < k.end && k.start < f.end)) kept.push(f);
      for (const f of kept.sort((a, b) => a.piece - b.piece || a.start - b.start)) {
        const n = counts.get(f.key)!;
        const role = ROLE_NAME[f.key[0]!] ?? 'turn';
        out.push({
          record: s.index,
          code: 'repeated-boilerplate',
          path: [],
          rel: f.rel,
          message: `This ${f.end - f.start}-character ${role} text recurs in ${n} of ${records} records (${Math.round((100 * n) / records)}%): a template the data generator left behind, which the model learns to repeat. Strip it, or turn repeated-boilerplate off if it is the intended instruction.`,
          data: { records: n, share: n / records, key: f.key },
          fixes: [{ title: 'Remove this repeated text', safe: false, groupKey: `repeated-boilerplate:${f.key}`, edits: [{ rel: f.del, newText: '' }] }],
        });
      }
    }
    return out;
  },
  incremental(ctx) {
    // Counts by a 32-bit fingerprint of the span key, kept across validations. Fingerprints that
    // collide only add up, so a fingerprint below the threshold proves every key below it: then
    // there is nothing to report, and only otherwise are the exact counts taken (check()).
    const counts = new Map<number, number>();
    // How many fingerprints have each count, to know the highest count without a scan.
    const withCount: number[] = [0];
    let highest = 0;
    let records = 0;
    const bump = (fp: number, d: number): void => {
      const before = counts.get(fp) ?? 0;
      const after = before + d;
      if (after > 0) counts.set(fp, after);
      else counts.delete(fp);
      if (before > 0) withCount[before]!--;
      if (after > 0) withCount[after] = (withCount[after] ?? 0) + 1;
      if (after > highest) highest = after;
      while (highest > 0 && !withCount[highest]) highest--;
    };
    return {
      update(group, from, to) {
        const facts = group.facts;
        if (!facts.ok) return;
        records += to - from;
        forEachSpanKeyPrint(facts.extra[SPANS], (fp) => bump(fp, to - from));
      },
      issues(view) {
        const { repeatedMinShare, repeatedMinRecords } = ctx.settings.leakage;
        const threshold = Math.max(repeatedMinRecords, Math.ceil(repeatedMinShare * records));
        if (highest < threshold) return [];
        return repeatedBoilerplateRule.check(view.summaries, ctx);
      },
    };
  },
};

/** Counters of the heavy-hitters pass: spans in more than 1/1025 of all span occurrences are kept. */
const HEAVY_HITTERS = 1024;

/** Misra–Gries: at most `k` counters; every key seen more than total / (k + 1) times keeps one. */
class HeavyHitters {
  private readonly counters = new Map<string, number>();
  total = 0;

  constructor(private readonly k: number) {}

  add(key: string): void {
    this.total++;
    const n = this.counters.get(key);
    if (n !== undefined) this.counters.set(key, n + 1);
    else if (this.counters.size < this.k) this.counters.set(key, 1);
    else {
      // Every counter pays for the newcomer; those at zero make room.
      for (const [k, c] of this.counters) {
        if (c <= 1) this.counters.delete(k);
        else this.counters.set(k, c - 1);
      }
    }
  }

  largest(): number {
    let max = 0;
    for (const c of this.counters.values()) if (c > max) max = c;
    return max;
  }

  candidates(): IterableIterator<string> {
    return this.counters.keys();
  }
}

/** Calls `each` with a 32-bit FNV-1a fingerprint of every span key in a record's encoded spans. */
function forEachSpanKeyPrint(encoded: unknown, each: (fingerprint: number) => void): void {
  if (typeof encoded !== 'string' || encoded === '') return;
  let h = 0x811c9dc5;
  let inKey = true;
  for (let i = 0; i < encoded.length; i++) {
    const c = encoded.charCodeAt(i);
    if (c === 124 /* | */) {
      if (inKey) each(h >>> 0);
      h = 0x811c9dc5;
      inKey = true;
    } else if (inKey) {
      if (c === 32) {
        each(h >>> 0);
        inKey = false;
      } else h = Math.imul(h ^ c, 0x01000193);
    }
  }
  if (inKey) each(h >>> 0);
}

import type { RelativeRange } from '../records/positions';
import type { RecordSummary } from '../summary';
import type { FormatName, Sample } from '../types';
import type { DatasetIssue, DatasetRule, RecordRule, RecordRuleContext, TrackedRecords } from './rule';
import { positionsOf, updateSet } from './incremental';

/**
 * QA pairs and classification: `answer-not-in-options` (a record rule) and
 * `inconsistent-answer-format` (a dataset rule over the answer facts recorded here). MiniCPM-V's
 * advice for classification as VQA is the reason: one consistent question, answers in one fixed
 * format, so that the model learns the task and not a mix of output styles.
 */

/** The shape of an answer; `value` is a bare short answer (a word, a number, yes/no), `sentence` free text. */
export type AnswerShape = 'letter' | 'letter-paren' | 'letter-text' | 'prefixed' | 'value' | 'sentence';

export const SHAPE_NAMES: Record<AnswerShape, string> = {
  letter: 'a bare option letter (like "B")',
  'letter-paren': 'a letter in parentheses (like "(B)")',
  'letter-text': 'a letter with the option text (like "(B) Paris")',
  prefixed: 'a prefixed answer (like "Answer: B")',
  value: 'a bare value (like "Paris", "42" or "yes")',
  sentence: 'a sentence of free text',
};

export interface ParsedAnswer {
  shape: AnswerShape;
  /** The option letter the answer names, uppercase, when it names one. */
  letter?: string;
  /** Text after the letter ("Paris" in "(B) Paris"), or the whole answer for values. */
  text?: string;
}

const PREFIX_RE = /^(?:the\s+)?(?:correct\s+|final\s+|right\s+)?answer\s*(?:is\s*[:：]?|[:：])\s*([\s\S]+)$/i;
const LETTER_RE = /^[A-Za-z]$/;
const LETTER_PAREN_RE = /^(?:\(([A-Za-z])\)|([A-Z])[.)])$/;
const LETTER_TEXT_RE = /^(?:\(([A-Z])\)\s*|([A-Z])[.):]\s+)(\S[\s\S]*)$/;

/** Classifies an answer string's shape and extracts the option letter it names. */
export function parseAnswer(answer: string): ParsedAnswer {
  const t = answer.trim();
  const prefixed = PREFIX_RE.exec(t);
  if (prefixed && prefixed[1]!.trim() !== '') {
    const inner = parseAnswer(prefixed[1]!);
    return { ...inner, shape: 'prefixed' };
  }
  if (LETTER_RE.test(t)) return { shape: 'letter', letter: t.toUpperCase() };
  const paren = LETTER_PAREN_RE.exec(t);
  if (paren) return { shape: 'letter-paren', letter: (paren[1] ?? paren[2])!.toUpperCase() };
  const withText = LETTER_TEXT_RE.exec(t);
  if (withText) return { shape: 'letter-text', letter: (withText[1] ?? withText[2])!, text: withText[3]!.trim() };
  const words = t.split(/\s+/).filter(Boolean).length;
  const sentence = words > 5 || (words >= 3 && /[.!?。！？]$/.test(t)) || /\n/.test(t);
  return { shape: sentence ? 'sentence' : 'value', text: t };
}

/** Normalises option text and answers for comparison: case, spacing and a trailing period do not matter. */
function norm(s: string): string {
  return s.trim().replace(/\s+/g, ' ').replace(/[.。]$/, '').toLowerCase();
}

/** Option keys as letters: "A", "(A)", "A." and "a" all name option A. */
function keyLetter(key: string): string {
  return key.trim().replace(/^\(|[).:]$/g, '').toUpperCase();
}

/** What the answer fact records for the dataset rule and the report. */
export interface AnswerFact {
  shape: AnswerShape;
  /** The label for the report's distribution: the option letter for letter answers, else the trimmed answer. */
  label: string;
  /** Where the answer sits in the record (the dataset rule reports there). */
  rel: RelativeRange;
  /** `field`: an answer/label field (qa, classification); `turn`: a short single-exchange assistant answer. */
  source: 'field' | 'turn';
  hasOptions: boolean;
}

export function answerFactOf(extra: Record<string, unknown>): AnswerFact | undefined {
  const a = extra['answer'] as AnswerFact | undefined;
  return a && typeof a.shape === 'string' ? a : undefined;
}

const CONVERSATIONAL: ReadonlySet<FormatName> = new Set(['openai', 'messages+media', 'llamafactory-v1', 'sharegpt', 'minicpm-v']);
/** A single-exchange assistant answer this short may be a class label (classification as VQA). */
const MAX_TURN_ANSWER = 64;

/** The answer of a record: the answer/label field, or the assistant's reply of a short single exchange. */
function answerOf(sample: Sample): { value: string; path: Sample['turns'][number]['texts'][number]['path']; source: 'field' | 'turn' } | undefined {
  if (sample.answer) return { value: sample.answer.value, path: sample.answer.path, source: 'field' };
  if (!CONVERSATIONAL.has(sample.format)) return undefined;
  const turns = sample.turns.filter((t) => t.role !== 'system');
  if (turns.length !== 2 || turns[0]!.role !== 'user' || turns[1]!.role !== 'assistant') return undefined;
  const texts = turns[1]!.texts;
  if (texts.length !== 1) return undefined;
  const v = texts[0]!.text;
  if (v.trim() === '' || v.length > MAX_TURN_ANSWER) return undefined;
  return { value: v, path: texts[0]!.path, source: 'turn' };
}

/** Records each answer's shape and label (facts.extra.answer) for the dataset rule and the report. */
export const answerFactsRule: RecordRule = {
  name: 'answerFacts',
  codes: [],
  check(ctx) {
    const answer = answerOf(ctx.sample);
    if (!answer) return;
    const parsed = parseAnswer(answer.value);
    const fact: AnswerFact = {
      shape: parsed.shape,
      label: parsed.letter ?? answer.value.trim().slice(0, 100),
      rel: ctx.anchor({ path: answer.path }),
      source: answer.source,
      hasOptions: (ctx.sample.answer?.options?.length ?? 0) > 0,
    };
    ctx.facts.extra['answer'] = fact;
  },
};

function optionList(options: { key: string; text: string }[], max = 4): string {
  const shown = options.slice(0, max).map((o) => `${keyLetter(o.key)}: "${o.text.length > 40 ? o.text.slice(0, 39) + '…' : o.text}"`);
  return shown.join(', ') + (options.length > max ? `, … (${options.length} options)` : '');
}

/** `answer-not-in-options`: a multiple-choice answer that names no option, or names one with another option's text. */
export const answerInOptionsRule: RecordRule = {
  name: 'answerInOptions',
  codes: ['answer-not-in-options'],
  formats: ['qa'],
  check(ctx: RecordRuleContext) {
    const answer = ctx.sample.answer;
    const options = answer?.options;
    if (!answer || !options || options.length === 0) return;
    const parsed = parseAnswer(answer.value);
    const letters = options.map((o) => keyLetter(o.key));
    const consequence = 'the model is trained on an answer that is not among the choices it is shown';
    if (parsed.letter !== undefined) {
      const i = letters.indexOf(parsed.letter);
      if (i < 0) {
        ctx.report({
          code: 'answer-not-in-options',
          path: answer.path,
          message: `The answer names option ${parsed.letter}, but the record's options are ${letters.join(', ')}; ${consequence}.`,
          data: { letter: parsed.letter, options: letters },
        });
        return;
      }
      const optionText = options[i]!.text;
      if (parsed.text !== undefined && norm(parsed.text) !== norm(optionText)) {
        ctx.report({
          code: 'answer-not-in-options',
          path: answer.path,
          message: `The answer says option ${parsed.letter} is "${parsed.text}", but option ${parsed.letter} is "${optionText}"; ${consequence}.`,
          data: { letter: parsed.letter, expected: optionText },
        });
      }
      return;
    }
    const a = norm(answer.value);
    if (options.some((o) => norm(o.text) === a || keyLetter(o.key) === a.toUpperCase())) return;
    // A numeric answer may be an option index (0- or 1-based) in datasets that store one.
    const n = Number(a);
    if (Number.isInteger(n) && n >= 0 && n <= options.length && !options.some((o) => /^-?\d/.test(o.text))) return;
    ctx.report({
      code: 'answer-not-in-options',
      path: answer.path,
      message: `The answer "${answer.value.length > 60 ? answer.value.slice(0, 59) + '…' : answer.value}" is none of the options (${optionList(options)}); ${consequence}.`,
      data: { options: letters },
    });
  },
};

/** Fewer answers than this in a group say nothing about a file's answer format. */
const MIN_ANSWERS = 4;
/** Conversation files are checked as classification data only when this share of records has a short single-exchange answer. */
const MIN_TURN_ANSWER_SHARE = 0.8;

/** A file whose answers take few distinct values: labels of a classification task. */
export function isLabelLike(distinct: number, answers: number): boolean {
  return answers > 0 && distinct <= Math.max(10, Math.min(500, answers * 0.2));
}

/**
 * `inconsistent-answer-format`: the answers of a file (records with options and records without
 * are judged apart) follow one shape; records of a minority shape are reported, naming the
 * majority. Free-text answers have no format to follow, so a file whose answers are mostly
 * sentences is not judged; sentences among short labels are, when the answers look like labels.
 */
export const inconsistentAnswerFormatRule: DatasetRule = {
  name: 'inconsistentAnswerFormat',
  codes: ['inconsistent-answer-format'],
  check(summaries) {
    const out: DatasetIssue[] = [];
    const withAnswer: { s: RecordSummary; a: AnswerFact }[] = [];
    let conversational = 0;
    let turnAnswers = 0;
    for (const s of summaries) {
      if (s.format && CONVERSATIONAL.has(s.format)) conversational++;
      const a = answerFactOf(s.extra);
      if (!a) continue;
      if (a.source === 'turn') turnAnswers++;
      withAnswer.push({ s, a });
    }
    // Conversation data counts only when it is classification as VQA: nearly every record a short single exchange.
    const useTurns = usesTurns(conversational, turnAnswers);
    const groups = new Map<AnswerGroup, { s: RecordSummary; a: AnswerFact }[]>();
    for (const item of withAnswer) {
      if (item.a.source === 'turn' && !useTurns) continue;
      const key = groupOf(item.a);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = []));
      g.push(item);
    }
    for (const [key, group] of groups) {
      const counts = new Map<AnswerShape, number>();
      for (const { a } of group) counts.set(a.shape, (counts.get(a.shape) ?? 0) + 1);
      const verdict = judgeAnswers(key, group.length, counts, () => new Set(group.map(({ a }) => a.label.toLowerCase())).size);
      if (!verdict) continue;
      for (const { s, a } of group) if (verdict.reports(a.shape)) out.push(answerIssue(s, a, verdict, group.length));
    }
    return out;
  },
  incremental() {
    // Per group (options or plain) and source (field or turn): answers by shape, and label counts
    // for the distinct-label test (of the field answers alone, and of both sources).
    const part = (): AnswerPart => ({ n: 0, shapes: new Map(), groups: new Map() });
    const parts: Record<AnswerGroup, Record<AnswerFact['source'], AnswerPart>> = { options: { field: part(), turn: part() }, plain: { field: part(), turn: part() } };
    const labels: Record<AnswerGroup, { field: Map<string, number>; all: Map<string, number> }> = {
      options: { field: new Map(), all: new Map() },
      plain: { field: new Map(), all: new Map() },
    };
    let conversational = 0;
    let turnAnswers = 0;
    return {
      update(group, from, to) {
        const facts = group.facts;
        const d = to - from;
        if (facts.format && CONVERSATIONAL.has(facts.format)) conversational += d;
        const a = answerFactOf(facts.extra);
        if (!a) return;
        if (a.source === 'turn') turnAnswers += d;
        const key = groupOf(a);
        const p = parts[key][a.source];
        p.n += d;
        addCount(p.shapes, a.shape, d);
        let set = p.groups.get(a.shape);
        if (!set) p.groups.set(a.shape, (set = new Set()));
        updateSet(set, group, from, to);
        const label = a.label.toLowerCase();
        addCount(labels[key].all, label, d);
        if (a.source === 'field') addCount(labels[key].field, label, d);
      },
      issues(view) {
        const useTurns = usesTurns(conversational, turnAnswers);
        const found: { key: AnswerGroup; issues: DatasetIssue[] }[] = [];
        for (const key of ['options', 'plain'] as const) {
          const { field, turn } = parts[key];
          const n = field.n + (useTurns ? turn.n : 0);
          const counts = useTurns ? sumCounts(field.shapes, turn.shapes) : field.shapes;
          const verdict = judgeAnswers(key, n, counts, () => (useTurns ? labels[key].all : labels[key].field).size);
          if (!verdict) continue;
          const groups: TrackedRecords[] = [];
          for (const source of useTurns ? [field, turn] : [field]) {
            for (const [shape, set] of source.groups) if (verdict.reports(shape)) groups.push(...set);
          }
          const issues = positionsOf(view, groups).map((p) => {
            const s = view.summaries[p]!;
            return answerIssue(s, answerFactOf(s.extra)!, verdict, n);
          });
          if (issues.length) found.push({ key, issues });
        }
        // check() reports the group whose first answer comes first before the other.
        if (found.length === 2 && firstGroup(view.summaries, useTurns) === 'plain') found.reverse();
        return found.flatMap((f) => f.issues);
      },
    };
  },
};

type AnswerGroup = 'options' | 'plain';

interface AnswerPart {
  n: number;
  shapes: Map<AnswerShape, number>;
  groups: Map<AnswerShape, Set<TrackedRecords>>;
}

const groupOf = (a: AnswerFact): AnswerGroup => (a.hasOptions ? 'options' : 'plain');

const usesTurns = (conversational: number, turnAnswers: number): boolean => conversational > 0 && turnAnswers >= MIN_TURN_ANSWER_SHARE * conversational;

function addCount<K>(map: Map<K, number>, key: K, d: number): void {
  const n = (map.get(key) ?? 0) + d;
  if (n > 0) map.set(key, n);
  else map.delete(key);
}

function sumCounts<K>(a: Map<K, number>, b: Map<K, number>): Map<K, number> {
  const out = new Map(a);
  for (const [k, n] of b) out.set(k, (out.get(k) ?? 0) + n);
  return out;
}

/** The group (options or plain) of the file's first answer that is judged. */
function firstGroup(summaries: readonly RecordSummary[], useTurns: boolean): AnswerGroup | undefined {
  for (const s of summaries) {
    const a = answerFactOf(s.extra);
    if (a && (a.source !== 'turn' || useTurns)) return groupOf(a);
  }
  return undefined;
}

interface AnswerVerdict {
  majority: AnswerShape;
  majorityCount: number;
  /** Whether answers of this shape are reported. */
  reports(shape: AnswerShape): boolean;
}

/** How a group of `n` answers with these shape counts is judged; undefined when none of its answers is reported. */
function judgeAnswers(key: AnswerGroup, n: number, counts: ReadonlyMap<AnswerShape, number>, distinct: () => number): AnswerVerdict | undefined {
  if (n < MIN_ANSWERS) return undefined;
  let shapes = 0;
  let majority: AnswerShape | undefined;
  let majorityCount = 0;
  let second = 0;
  for (const [shape, c] of counts) {
    if (c <= 0) continue;
    shapes++;
    if (c > majorityCount) {
      second = majorityCount;
      majorityCount = c;
      majority = shape;
    } else if (c > second) second = c;
  }
  // A tie for the majority says nothing about which format is meant.
  if (shapes < 2 || !majority || second === majorityCount) return undefined;
  const labelLike = key === 'options' || isLabelLike(distinct(), n);
  if (majority === 'sentence' && key !== 'options') return undefined;
  const m = majority;
  return { majority: m, majorityCount, reports: (shape) => shape !== m && !(shape === 'sentence' && m === 'value' && !labelLike) };
}

function answerIssue(s: RecordSummary, a: AnswerFact, verdict: AnswerVerdict, answers: number): DatasetIssue {
  const { majority, majorityCount } = verdict;
  return {
    record: s.index,
    code: 'inconsistent-answer-format',
    path: [],
    rel: a.rel,
    message: `This answer is ${SHAPE_NAMES[a.shape]}, but ${majorityCount} of the file's ${answers} answers are ${SHAPE_NAMES[majority]}; mixed answer formats teach the model several output styles for one task (MiniCPM-V: answers in one fixed format).`,
    data: { shape: a.shape, majority, majorityCount, answers },
  };
}

import { answerFactOf, isLabelLike, SHAPE_NAMES, type AnswerShape } from '../rules/qa';
import type { Settings } from '../settings';
import type { RecordSummary } from '../summary';
import type { Severity } from '../types';
import type { IssueTally } from '../validator';
import { reportFactsOf, ROLE_KEYS, totalTokens, type RoleKey } from './facts';
import { imageTokenRule } from './imageTokens';
import { NearDuplicateIndex } from './minhash';
import { GENERATION_MIN_CHARS, planTraining, type TrainingPlan } from './plan';

/**
 * The dataset report: computed from the per-record facts (never the text), so it follows a
 * streaming validation and an edited document's incremental one at O(records) cost.
 * `tunekit report --json` prints it; the webview and `--html` draw it.
 */

export interface Stats {
  /** Records the statistic covers (for roles: records that have the role). */
  records: number;
  total: number;
  min: number;
  max: number;
  mean: number;
  p50: number;
  p95: number;
}

export interface Histogram {
  labels: string[];
  counts: number[];
}

export interface FileReport {
  path: string;
  records: number;
  format?: string;
  errors: number;
  tokens: number;
}

export interface IssueCount {
  code: string;
  severity: Severity;
  count: number;
  file: string;
  /** 1-based line of the first occurrence. */
  line: number;
}

export interface LabelReport {
  records: number;
  classes: number;
  imbalanceRatio: number;
  largest?: { label: string; count: number };
  smallest?: { label: string; count: number };
  longTail: { min: number; classes: string[]; records: number };
  /** Answers per shape (AnswerShape), and the shape most answers follow. */
  shapes: Record<string, number>;
  majorityShape?: string;
  majorityShapeName?: string;
  /** True when every answer follows the majority shape. */
  consistent: boolean;
  /** Where the labels come from. */
  source: 'field' | 'turn';
  /** False when the answers are free text rather than a fixed label set (no `labels` then). */
  labelLike: boolean;
}

export interface DatasetReport {
  version: 1;
  files: FileReport[];
  samples: number;
  /** Records that parsed as objects of a known format. */
  valid: number;
  /** Records without any error: what a trainer trains on. */
  trainable: number;
  formats: Record<string, number>;
  modality: { textOnly: number; image: number; multiImage: number; video: number; audio: number };
  media: { images: number; videos: number; audios: number; perRecord: Stats; histogram: Histogram };
  turns: { min: number; max: number; mean: number; histogram: Histogram };
  lengths: { unit: 'characters'; roles: Record<RoleKey, Stats> };
  tokens: {
    tokenizer: string;
    exact: boolean;
    /** How to read the numbers (estimate, image rule). */
    note: string;
    roles: Record<RoleKey, Stats>;
    images: { tokens: number; rule: string; sized: number; assumed: number };
    perRecord: Stats;
    histogram: Histogram;
    maxTokens: number;
    overMax: number;
    overMaxExamples: { file: string; line: number; tokens: number }[];
  };
  labels?: Record<string, number>;
  labelStats?: LabelReport;
  /** Exact duplicates: records identical to an earlier record (of any file in the report). */
  duplicates: number;
  nearDuplicates: { count: number; threshold: number; examples: { file: string; line: number; similarTo: { file: string; line: number }; similarity: number }[] };
  composition: { understanding: number; generation: number; rule: string };
  issues: Record<string, number>;
  issueList: IssueCount[];
  severities: Record<Severity, number>;
  errorRecords: number;
  plan: TrainingPlan;
}

export interface ReportFileInput {
  path: string;
  summaries: readonly RecordSummary[];
  tally: readonly IssueTally[];
  errorRecords: number;
  format?: string;
}

export interface ReportOptions {
  settings: Settings;
  tokenizer: { name: string; exact: boolean };
  /** The domain dataset for the mixing schedule (a path as in `files`). */
  domain?: string;
  /** Examples listed per finding kind. */
  maxExamples?: number;
}

const TOKEN_EDGES = [32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768];

function stats(values: Float64Array | number[], records = values.length): Stats {
  if (values.length === 0) return { records: 0, total: 0, min: 0, max: 0, mean: 0, p50: 0, p95: 0 };
  const sorted = Float64Array.from(values).sort();
  let total = 0;
  for (const v of sorted) total += v;
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { records, total, min: sorted[0]!, max: sorted[sorted.length - 1]!, mean: round2(total / sorted.length), p50: at(0.5), p95: at(0.95) };
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

function tokenHistogram(values: Float64Array): Histogram {
  const counts = new Array<number>(TOKEN_EDGES.length + 1).fill(0);
  for (const v of values) {
    let i = 0;
    while (i < TOKEN_EDGES.length && v > TOKEN_EDGES[i]!) i++;
    counts[i]!++;
  }
  const labels = TOKEN_EDGES.map((e, i) => (i === 0 ? `≤${e}` : `${TOKEN_EDGES[i - 1]! + 1}–${e}`));
  labels.push(`>${TOKEN_EDGES[TOKEN_EDGES.length - 1]}`);
  return { labels, counts };
}

function countHistogram(values: number[], cap: number): Histogram {
  const counts = new Array<number>(cap + 1).fill(0);
  for (const v of values) counts[Math.min(v, cap)]!++;
  return { labels: counts.map((_, i) => (i === cap ? `${cap}+` : String(i))), counts };
}

export function buildReport(files: readonly ReportFileInput[], opts: ReportOptions): DatasetReport {
  const settings = opts.settings;
  const maxExamples = opts.maxExamples ?? 20;
  const longTailMin = settings.report.longTailMin;
  let samples = 0;
  let valid = 0;
  const formats: Record<string, number> = {};
  const modality = { textOnly: 0, image: 0, multiImage: 0, video: 0, audio: 0 };
  const mediaTotals = { images: 0, videos: 0, audios: 0 };
  const mediaPerRecord: number[] = [];
  const turnCounts: number[] = [];
  const roleChars: Record<RoleKey, number[]> = { system: [], user: [], assistant: [], tool: [] };
  const roleTokens: Record<RoleKey, number[]> = { system: [], user: [], assistant: [], tool: [] };
  const recordTokens: number[] = [];
  let imageTokens = 0;
  let imagesSized = 0;
  let imagesCounted = 0;
  let overMax = 0;
  const overMaxExamples: DatasetReport['tokens']['overMaxExamples'] = [];
  // Exact duplicates by hash → the first record's id; ids locate records through typed arrays, not objects.
  const seen = new Map<string, number>();
  let duplicates = 0;
  const total = files.reduce((a, f) => a + f.summaries.length, 0);
  const near = new NearDuplicateIndex(settings.report.nearDuplicateThreshold, total);
  const idFile = new Uint16Array(total);
  const idLine = new Float64Array(total);
  const whereOf = (id: number): { file: string; line: number } => ({ file: files[idFile[id]!]!.path, line: idLine[id]! });
  let nearCount = 0;
  const nearExamples: DatasetReport['nearDuplicates']['examples'] = [];
  let understanding = 0;
  let generation = 0;
  const fileReports: FileReport[] = [];
  const answers: { label: string; shape: AnswerShape; source: 'field' | 'turn' }[] = [];
  let conversational = 0;
  let nextId = 0;
  // The counter each record was counted with (a service may be missing somewhere, e.g. a worker).
  const counters = new Set<string>();

  for (const [fileIndex, file] of files.entries()) {
    let fileTokens = 0;
    for (const s of file.summaries) {
      samples++;
      const id = nextId++;
      idFile[id] = fileIndex;
      idLine[id] = s.line + 1;
      if (!s.ok || !s.format) {
        near.add(id, undefined);
        continue;
      }
      valid++;
      formats[s.format] = (formats[s.format] ?? 0) + 1;
      const { image, video, audio } = s.media;
      if (video > 0) modality.video++;
      else if (audio > 0) modality.audio++;
      else if (image > 1) modality.multiImage++;
      else if (image === 1) modality.image++;
      else modality.textOnly++;
      mediaTotals.images += image;
      mediaTotals.videos += video;
      mediaTotals.audios += audio;
      mediaPerRecord.push(image + video + audio);
      turnCounts.push(s.turns);
      if (s.format !== 'qa' && s.format !== 'classification' && s.format !== 'text' && s.format !== 'prompt-completion' && s.format !== 'alpaca') conversational++;

      const rf = reportFactsOf(s.extra);
      if (rf) {
        ROLE_KEYS.forEach((role, i) => {
          if (rf.c[i]! > 0) {
            roleChars[role].push(rf.c[i]!);
            roleTokens[role].push(rf.t[i]!);
          }
        });
        const t = totalTokens(rf);
        counters.add(rf.tk);
        recordTokens.push(t);
        fileTokens += t;
        imageTokens += rf.it;
        imagesSized += rf.ik;
        imagesCounted += image;
        if (t > settings.maxTokens) {
          overMax++;
          if (overMaxExamples.length < maxExamples) overMaxExamples.push({ ...whereOf(id), tokens: t });
        }
        if (rf.ut === 1 && rf.c[2] >= GENERATION_MIN_CHARS) generation++;
        else understanding++;
      }

      let exact = false;
      if (s.hash !== undefined) {
        if (seen.has(s.hash)) {
          duplicates++;
          exact = true;
        } else seen.set(s.hash, id);
      }
      const match = near.add(id, exact ? undefined : rf?.sig);
      if (match && !exact) {
        nearCount++;
        if (nearExamples.length < maxExamples) nearExamples.push({ ...whereOf(id), similarTo: whereOf(match.id), similarity: round2(match.similarity) });
      }

      const a = answerFactOf(s.extra);
      if (a) answers.push({ label: a.label, shape: a.shape, source: a.source });
    }
    fileReports.push({ path: file.path, records: file.summaries.length, ...(file.format ? { format: file.format } : {}), errors: file.errorRecords, tokens: fileTokens });
  }

  // Issues.
  const issues: Record<string, number> = {};
  const issueList: IssueCount[] = [];
  const severities: Record<Severity, number> = { error: 0, warning: 0, info: 0, hint: 0 };
  let errorRecords = 0;
  for (const file of files) {
    errorRecords += file.errorRecords;
    for (const t of file.tally) {
      issues[t.code] = (issues[t.code] ?? 0) + t.count;
      severities[t.severity] += t.count;
      const known = issueList.find((x) => x.code === t.code && x.severity === t.severity);
      if (known) known.count += t.count;
      else issueList.push({ code: t.code, severity: t.severity, count: t.count, file: file.path, line: t.firstLine + 1 });
    }
  }
  const sevOrder: Record<Severity, number> = { error: 0, warning: 1, info: 2, hint: 3 };
  issueList.sort((a, b) => sevOrder[a.severity] - sevOrder[b.severity] || b.count - a.count || a.code.localeCompare(b.code));

  // Labels.
  const labelReport = labelsOf(answers, conversational, longTailMin);

  const imageRule = imageTokenRule(settings.target, settings.report.imageTokens);
  const tokenValues = Float64Array.from(recordTokens);
  const tokenizerName = counters.size === 0 ? opts.tokenizer.name : [...counters].join(' + ');
  const tokensExact = counters.size === 0 ? opts.tokenizer.exact : counters.size === 1 && !counters.has('estimate');
  const notes: string[] = [];
  notes.push(tokensExact ? `Text tokens counted by ${tokenizerName}.` : 'Text tokens are estimated from characters (about 4 per token, 1 per CJK character): set tunekit.tokenizer for exact counts.');
  if (imagesCounted > 0) {
    notes.push(
      `Image tokens: ${imageRule.describe}` +
        (imageRule.byResolution && imagesCounted > imagesSized ? `; ${(imagesCounted - imagesSized).toLocaleString('en-US')} image${imagesCounted - imagesSized === 1 ? '' : 's'} of unknown size counted as 1024×1024` : '') +
        '.',
    );
  }
  notes.push('Chat-template tokens are not included.');

  const trainable = Math.max(0, samples - errorRecords);
  const report: Omit<DatasetReport, 'plan'> = {
    version: 1,
    files: fileReports,
    samples,
    valid,
    trainable,
    formats,
    modality,
    media: { ...mediaTotals, perRecord: stats(mediaPerRecord), histogram: countHistogram(mediaPerRecord, 10) },
    turns: { ...minMaxMean(turnCounts), histogram: countHistogram(turnCounts, 20) },
    lengths: { unit: 'characters', roles: mapRoles((r) => stats(roleChars[r])) },
    tokens: {
      tokenizer: tokenizerName,
      exact: tokensExact,
      note: notes.join(' '),
      roles: mapRoles((r) => stats(roleTokens[r])),
      images: { tokens: imageTokens, rule: imageRule.describe, sized: imagesSized, assumed: imagesCounted - imagesSized },
      perRecord: stats(tokenValues),
      histogram: tokenHistogram(tokenValues),
      maxTokens: settings.maxTokens,
      overMax,
      overMaxExamples,
    },
    ...(labelReport?.labels ? { labels: labelReport.labels } : {}),
    ...(labelReport ? { labelStats: labelReport.stats } : {}),
    duplicates,
    nearDuplicates: { count: nearCount, threshold: settings.report.nearDuplicateThreshold, examples: nearExamples },
    composition: {
      understanding,
      generation,
      rule: `generation: one exchange with an answer of ${GENERATION_MIN_CHARS}+ characters; understanding: everything else (multi-turn dialogue, short answers)`,
    },
    issues,
    issueList,
    severities,
    errorRecords,
  };
  const plan = planTraining({
    target: settings.target,
    samples,
    trainable,
    files: fileReports.map((f) => ({ path: f.path, records: f.records })),
    ...(opts.domain !== undefined ? { domain: opts.domain } : {}),
    composition: { understanding, generation },
    tokens: { total: report.tokens.perRecord.total, exact: tokensExact, overMax, maxTokens: settings.maxTokens },
    duplicates,
    nearDuplicates: nearCount,
    ...(labelReport?.stats.labelLike && labelReport.stats.classes >= 2
      ? { labels: { classes: labelReport.stats.classes, imbalanceRatio: labelReport.stats.imbalanceRatio, longTailClasses: labelReport.stats.longTail.classes.length, longTailMin } }
      : {}),
  });
  return { ...report, plan };
}

function mapRoles<T>(f: (r: RoleKey) => T): Record<RoleKey, T> {
  return { system: f('system'), user: f('user'), assistant: f('assistant'), tool: f('tool') };
}

function minMaxMean(values: number[]): { min: number; max: number; mean: number } {
  if (values.length === 0) return { min: 0, max: 0, mean: 0 };
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  return { min, max, mean: round2(sum / values.length) };
}

/** Most labels listed in `labels`; the rest are summed under "(other)". */
const MAX_LABELS = 1000;

function labelsOf(
  all: { label: string; shape: AnswerShape; source: 'field' | 'turn' }[],
  conversational: number,
  longTailMin: number,
): { labels?: Record<string, number>; stats: LabelReport } | undefined {
  const fromFields = all.filter((a) => a.source === 'field');
  const fromTurns = all.filter((a) => a.source === 'turn');
  // Conversation data has labels only when it is classification as VQA: nearly every record a short single exchange.
  const answers = fromFields.length > 0 ? fromFields : conversational > 0 && fromTurns.length >= 0.8 * conversational ? fromTurns : [];
  if (answers.length === 0) return undefined;
  const counts = new Map<string, number>();
  const shapes: Record<string, number> = {};
  for (const a of answers) {
    counts.set(a.label, (counts.get(a.label) ?? 0) + 1);
    shapes[a.shape] = (shapes[a.shape] ?? 0) + 1;
  }
  const ranked = [...counts].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]));
  const labelLike = isLabelLike(counts.size, answers.length);
  const largest = ranked[0]!;
  const smallest = ranked[ranked.length - 1]!;
  const tail = ranked.filter(([, n]) => n < longTailMin);
  const shapeRank = Object.entries(shapes).sort((x, y) => y[1] - x[1]);
  const majorityShape = shapeRank[0]![0] as AnswerShape;
  const stats: LabelReport = {
    records: answers.length,
    classes: counts.size,
    imbalanceRatio: round2(largest[1] / smallest[1]),
    largest: { label: largest[0], count: largest[1] },
    smallest: { label: smallest[0], count: smallest[1] },
    longTail: { min: longTailMin, classes: tail.slice(0, 200).map(([l]) => l), records: tail.reduce((a, [, n]) => a + n, 0) },
    shapes,
    majorityShape,
    majorityShapeName: SHAPE_NAMES[majorityShape],
    consistent: shapeRank.length === 1,
    source: answers === fromFields ? 'field' : 'turn',
    labelLike,
  };
  if (!labelLike) return { stats };
  const labels: Record<string, number> = {};
  for (const [l, n] of ranked.slice(0, MAX_LABELS)) labels[l] = n;
  if (ranked.length > MAX_LABELS) labels['(other)'] = ranked.slice(MAX_LABELS).reduce((a, [, n]) => a + n, 0);
  return { labels, stats };
}

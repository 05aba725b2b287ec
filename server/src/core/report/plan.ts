import type { Target } from '../settings';

/**
 * The training plan: a pure function of the report's numbers. Every suggestion carries `basis`,
 * the number it came from, so a user can see why and disagree. Guidance: FORMATS.md "Data
 * quantity guidance" (OpenAI's epoch clamp, epochs by size, LoRA for small data, domain mixing,
 * MiniGemini's two-stage recipe).
 */

export interface PlanInput {
  target: Target;
  /** Records read. */
  samples: number;
  /** Records with no error (what a trainer actually trains on). */
  trainable: number;
  files: { path: string; records: number }[];
  /** The file holding the domain data for the mixing schedule; default: the smallest. */
  domain?: string;
  composition: { understanding: number; generation: number };
  tokens: { total: number; exact: boolean; overMax: number; maxTokens: number };
  duplicates: number;
  nearDuplicates: number;
  labels?: { classes: number; imbalanceRatio: number; longTailClasses: number; longTailMin: number };
}

export type PlanLevel = 'error' | 'warning' | 'info';

export interface PlanItem {
  id: string;
  level: PlanLevel;
  title: string;
  advice: string;
  /** The number the suggestion came from. */
  basis: string;
}

export interface MixPhase {
  phase: number;
  domainShare: number;
  domainRecords: number;
  generalRecords: number;
}

export interface TrainingPlan {
  records: number;
  epochs: { suggested: number; min: number; max: number; basis: string };
  method: { suggested: 'lora' | 'full' | 'managed'; basis: string };
  /** Suggested validation hold-out (records). */
  validation: { records: number; basis: string };
  mixing?: { domain: string; general: string[]; phases: MixPhase[]; basis: string };
  twoStage?: { stage1: { records: number; epochs: number }; stage2: { records: number; epochs: number }; basis: string };
  /** Training tokens: records' tokens × epochs. */
  trainingTokens: number;
  items: PlanItem[];
}

/** OpenAI's defaults: aim at 3 passes, clamped to 1–25 epochs so that n × epochs stays within 100–25,000. */
export const OPENAI = { targetEpochs: 3, minExamples: 100, maxExamples: 25_000, minEpochs: 1, maxEpochs: 25, minimumFile: 10 } as const;

/** Below this many records a fine-tune often learns nothing (runs on 10–15 samples silently fail); OpenAI sees gains from 50–100. */
export const MIN_USEFUL = 50;
/** Records of at least this many characters in a single exchange are generation data (long outputs). */
export const GENERATION_MIN_CHARS = 800;
/** Each part must be at least this share of the data, and this many records, for a two-stage plan. */
const TWO_STAGE_MIN_SHARE = 0.1;
const TWO_STAGE_MIN_RECORDS = 50;

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const pct = (x: number): string => `${Math.round(x * 100)}%`;

/** OpenAI's default epoch count for `n` training examples. */
export function openaiEpochs(n: number): number {
  if (n <= 0) return OPENAI.targetEpochs;
  if (n * OPENAI.targetEpochs < OPENAI.minExamples) return Math.min(OPENAI.maxEpochs, Math.floor(OPENAI.minExamples / n));
  if (n * OPENAI.targetEpochs > OPENAI.maxExamples) return Math.max(OPENAI.minEpochs, Math.floor(OPENAI.maxExamples / n));
  return OPENAI.targetEpochs;
}

/** Epochs by size for open trainers: about 1 for millions, 1–3 for thousands to tens of thousands. */
export function epochsBySize(n: number): { suggested: number; min: number; max: number; why: string } {
  if (n >= 1_000_000) return { suggested: 1, min: 1, max: 1, why: 'about 1 epoch for millions of samples; more passes overfit' };
  if (n >= 100_000) return { suggested: 1, min: 1, max: 2, why: '1–2 epochs for hundreds of thousands of samples' };
  if (n >= 10_000) return { suggested: 2, min: 1, max: 3, why: '1–3 epochs for tens of thousands of samples' };
  if (n >= 1_000) return { suggested: 3, min: 1, max: 3, why: '1–3 epochs for thousands of samples' };
  return { suggested: 3, min: 2, max: 5, why: 'small data needs several passes, but watch the validation loss: more epochs overfit' };
}

export function planTraining(input: PlanInput): TrainingPlan {
  const n = input.trainable;
  const items: PlanItem[] = [];
  const withErrors = input.samples - n;
  const recordsBasis = `${fmt(n)} trainable record${n === 1 ? '' : 's'}${withErrors > 0 ? ` (of ${fmt(input.samples)}; ${fmt(withErrors)} ${withErrors === 1 ? 'has' : 'have'} errors)` : ''}`;

  // Epochs.
  let epochs: TrainingPlan['epochs'];
  if (input.target === 'openai') {
    const e = openaiEpochs(n);
    epochs = { suggested: e, min: e, max: e, basis: `${recordsBasis}: OpenAI aims at ${OPENAI.targetEpochs} passes, clamped to ${OPENAI.minEpochs}–${OPENAI.maxEpochs} epochs so that records × epochs stays within ${fmt(OPENAI.minExamples)}–${fmt(OPENAI.maxExamples)}` };
    items.push({
      id: 'epochs',
      level: 'info',
      title: `${e} epoch${e === 1 ? '' : 's'} (OpenAI's default)`,
      advice: `Leave n_epochs on "auto" (it picks ${e}); ${fmt(n)} × ${e} = ${fmt(n * e)} examples seen.`,
      basis: epochs.basis,
    });
  } else {
    const e = epochsBySize(n);
    epochs = { suggested: e.suggested, min: e.min, max: e.max, basis: `${recordsBasis}: ${e.why}` };
    items.push({
      id: 'epochs',
      level: 'info',
      title: e.min === e.max ? `${e.suggested} epoch${e.suggested === 1 ? '' : 's'}` : `${e.suggested} epochs (range ${e.min}–${e.max})`,
      advice: `Train ${e.suggested} epoch${e.suggested === 1 ? '' : 's'} and keep the checkpoint with the lowest validation loss.`,
      basis: epochs.basis,
    });
  }

  // Minimum useful size.
  if (input.target === 'openai' && n < OPENAI.minimumFile) {
    items.push({
      id: 'size',
      level: 'error',
      title: 'Too few examples for OpenAI',
      advice: `OpenAI rejects files with fewer than ${OPENAI.minimumFile} examples; collect at least ${MIN_USEFUL}–100 (typical gains start there).`,
      basis: recordsBasis,
    });
  } else if (n < MIN_USEFUL) {
    items.push({
      id: 'size',
      level: 'warning',
      title: 'Below the minimum useful size',
      advice: `Runs on 10–15 samples often finish "successfully" and change nothing (or only memorise the samples); collect at least ${MIN_USEFUL}–100 good examples before spending GPU hours.`,
      basis: recordsBasis,
    });
  }

  // LoRA or full fine-tuning.
  let method: TrainingPlan['method'];
  if (input.target === 'openai' || input.target === 'together') {
    method = { suggested: 'managed', basis: `target ${input.target}` };
    items.push({ id: 'method', level: 'info', title: 'Method chosen by the provider', advice: `${input.target === 'openai' ? 'OpenAI' : 'Together'} runs the fine-tune; choose the base model and the epochs.`, basis: method.basis });
  } else if (n < 10_000) {
    method = { suggested: 'lora', basis: `${recordsBasis} (< 10,000)` };
    items.push({
      id: 'method',
      level: 'info',
      title: 'LoRA',
      advice: 'Use LoRA: with little data it shapes behaviour and keeps the base model\'s general ability; full fine-tuning on small data forgets more than it learns. SFT does not add knowledge.',
      basis: method.basis,
    });
  } else if (n < 100_000) {
    method = { suggested: 'lora', basis: `${recordsBasis} (10,000–100,000)` };
    items.push({
      id: 'method',
      level: 'info',
      title: 'LoRA (full fine-tuning only with general data mixed in)',
      advice: 'LoRA is the safe default; full fine-tuning at this size pays off only with general data mixed in, or it loses general ability.',
      basis: method.basis,
    });
  } else {
    method = { suggested: 'full', basis: `${recordsBasis} (≥ 100,000)` };
    items.push({
      id: 'method',
      level: 'info',
      title: 'Full fine-tuning is an option',
      advice: 'With this much data full fine-tuning can pay off; mix in general data (see the schedule) to keep general ability. LoRA remains the cheaper choice.',
      basis: method.basis,
    });
  }

  // Validation split.
  const valRecords = n < 20 ? 0 : Math.max(1, Math.min(Math.round(n * (n < 1000 ? 0.1 : 0.05)), 5000));
  const validation = { records: valRecords, basis: recordsBasis };
  items.push(
    valRecords === 0
      ? { id: 'validation', level: 'warning', title: 'Too small to hold out a validation split', advice: 'With under 20 records there is no meaningful validation loss; judge the run on a few hand-written test prompts.', basis: recordsBasis }
      : {
          id: 'validation',
          level: 'info',
          title: `Hold out ${fmt(valRecords)} records for validation`,
          advice: `Keep a held-out validation split (tunekit split) and stop when its loss rises; ${fmt(valRecords)} is ${pct(valRecords / n)} of the data.`,
          basis: recordsBasis,
        },
  );

  // Domain/general mixing schedule.
  let mixing: TrainingPlan['mixing'];
  const files = input.files.filter((f) => f.records > 0);
  if (files.length >= 2) {
    const domainFile = files.find((f) => f.path === input.domain) ?? [...files].sort((a, b) => a.records - b.records)[0]!;
    const general = files.filter((f) => f !== domainFile);
    const generalRecords = general.reduce((a, f) => a + f.records, 0);
    const shares = [0.1, 0.25, 0.5];
    const perPhase = domainFile.records / shares.length;
    const phases = shares.map((s, i) => {
      const d = Math.round(perPhase);
      return { phase: i + 1, domainShare: s, domainRecords: d, generalRecords: Math.min(generalRecords, Math.round((d * (1 - s)) / s)) };
    });
    const basis = `${domainFile.path}: ${fmt(domainFile.records)} records${input.domain ? '' : ' (the smallest dataset, taken as the domain data)'}; general: ${fmt(generalRecords)} records in ${general.length} file${general.length === 1 ? '' : 's'}`;
    mixing = { domain: domainFile.path, general: general.map((f) => f.path), phases, basis };
    const short = phases.some((p) => p.generalRecords < Math.round((p.domainRecords * (1 - p.domainShare)) / p.domainShare));
    items.push({
      id: 'mixing',
      level: 'info',
      title: 'Mix domain and general data, domain share rising 10% → 50%',
      advice:
        `Start near 10% domain / 90% general and raise the domain share gradually to about 50%: ` +
        phases.map((p) => `phase ${p.phase}: ${pct(p.domainShare)} (${fmt(p.domainRecords)} domain + ${fmt(p.generalRecords)} general)`).join('; ') +
        (short ? '. The general data is too small for the early phases: add general data or start at a higher domain share.' : '.'),
      basis,
    });
  }

  // Two-stage plan.
  let twoStage: TrainingPlan['twoStage'];
  const { understanding, generation } = input.composition;
  const total = understanding + generation;
  if (
    total > 0 &&
    generation >= TWO_STAGE_MIN_RECORDS &&
    understanding >= TWO_STAGE_MIN_RECORDS &&
    generation / total >= TWO_STAGE_MIN_SHARE &&
    understanding / total >= TWO_STAGE_MIN_SHARE
  ) {
    const stage1Epochs = epochsBySize(n).suggested;
    twoStage = {
      stage1: { records: n, epochs: input.target === 'openai' ? openaiEpochs(n) : stage1Epochs },
      stage2: { records: generation, epochs: 1 },
      basis: `${fmt(understanding)} understanding records (multi-turn or short answers) and ${fmt(generation)} generation records (one exchange, answers of ${fmt(GENERATION_MIN_CHARS)}+ characters)`,
    };
    items.push({
      id: 'two-stage',
      level: 'info',
      title: 'Two stages: everything, then the generation subset lightly',
      advice: `Stage 1 on all ${fmt(n)} records; stage 2 on the ${fmt(generation)} generation records only, 1 epoch at a lower learning rate, so that it does not overfit (MiniGemini's recipe).`,
      basis: twoStage.basis,
    });
  }

  // Data problems the plan depends on.
  if (input.tokens.overMax > 0) {
    items.push({
      id: 'too-long',
      level: 'warning',
      title: `${fmt(input.tokens.overMax)} records exceed the cutoff`,
      advice: `Raise the cutoff length (tunekit.maxTokens ${fmt(input.tokens.maxTokens)}) or shorten these records: the trainer truncates them and their answers' ends are never learned.`,
      basis: `${fmt(input.tokens.overMax)} of ${fmt(input.samples)} records over ${fmt(input.tokens.maxTokens)} tokens${input.tokens.exact ? '' : ' (estimated)'}`,
    });
  }
  const dupShare = input.samples > 0 ? (input.duplicates + input.nearDuplicates) / input.samples : 0;
  if (dupShare >= 0.01) {
    items.push({
      id: 'duplicates',
      level: 'warning',
      title: 'Deduplicate first',
      advice: 'Duplicates are trained on several times per epoch, which acts like extra epochs on them and overfits; remove them before choosing epochs.',
      basis: `${fmt(input.duplicates)} exact duplicate${input.duplicates === 1 ? '' : 's'} and ${fmt(input.nearDuplicates)} near-duplicate${input.nearDuplicates === 1 ? '' : 's'} (${pct(dupShare)} of the records)`,
    });
  }
  if (input.labels && input.labels.classes >= 2 && input.labels.imbalanceRatio >= 10) {
    items.push({
      id: 'imbalance',
      level: 'warning',
      title: 'Balance the labels',
      advice: `The largest class has ${input.labels.imbalanceRatio.toFixed(1)}× the records of the smallest: collect or upsample the rare classes, or the model learns to answer the common ones.`,
      basis: `imbalance ratio ${input.labels.imbalanceRatio.toFixed(1)} over ${input.labels.classes} classes; ${input.labels.longTailClasses} class${input.labels.longTailClasses === 1 ? '' : 'es'} under ${input.labels.longTailMin} records`,
    });
  }

  return { records: n, epochs, method, validation, ...(mixing ? { mixing } : {}), ...(twoStage ? { twoStage } : {}), trainingTokens: Math.round(input.tokens.total * epochs.suggested), items };
}

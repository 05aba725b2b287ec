import { cyrb53 } from './hash';

/**
 * Deterministic train/validation split: the same records, seed and size give the same split on
 * every machine. Stratified: each label keeps its share in the validation split (largest
 * remainders decide the rounding, in a seeded order, so no label is favoured).
 */

export interface SplitPlan {
  /** Per record: 0 train, 1 validation. */
  sides: Uint8Array;
  validation: number;
  train: number;
  /** Labels the split was stratified over (0 when not stratified). */
  strata: number;
  /** Validation records per label, when stratified. */
  byLabel?: Record<string, { train: number; validation: number }>;
}

/** mulberry32: a small, well-distributed seeded PRNG. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** How many records go to validation: a fraction (0 < v < 1) of n, or a count (v ≥ 1). At least one when n ≥ 2. */
export function validationCount(n: number, validation: number): number {
  if (n < 2 || validation <= 0) return 0;
  const k = validation < 1 ? Math.round(n * validation) : Math.floor(validation);
  return Math.min(n - 1, Math.max(1, k));
}

/**
 * Assigns records to train (0) or validation (1). `labels[i]` undefined everywhere means no
 * stratification; otherwise records are grouped by label (unlabelled ones form their own group).
 */
export function assignSplit(labels: readonly (string | undefined)[], opts: { validation: number; seed: number }): SplitPlan {
  const n = labels.length;
  const k = validationCount(n, opts.validation);
  const sides = new Uint8Array(n);
  const groups = new Map<string, number[]>();
  const stratified = labels.some((l) => l !== undefined);
  for (let i = 0; i < n; i++) {
    const key = stratified ? (labels[i] === undefined ? '\u0000unlabelled' : `=${labels[i]}`) : '';
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(i);
  }
  // Each group gets its proportional share; the rounding remainder goes to the largest remainders, ties in a seeded order.
  const keys = shuffle([...groups.keys()].sort(), seededRandom(opts.seed ^ 0x9e3779b9));
  const quotas = new Map<string, number>();
  let assigned = 0;
  const remainders: [string, number][] = [];
  for (const key of keys) {
    const exact = (groups.get(key)!.length * k) / Math.max(1, n);
    const q = Math.floor(exact);
    quotas.set(key, q);
    assigned += q;
    remainders.push([key, exact - q]);
  }
  remainders.sort((a, b) => b[1] - a[1]);
  for (let i = 0; assigned < k && i < remainders.length; i++, assigned++) {
    const key = remainders[i]![0];
    quotas.set(key, quotas.get(key)! + 1);
  }
  const byLabel: Record<string, { train: number; validation: number }> = {};
  for (const [key, members] of groups) {
    const random = seededRandom((opts.seed >>> 0) ^ cyrb53(key));
    const picked = shuffle([...members], random).slice(0, quotas.get(key));
    for (const i of picked) sides[i] = 1;
    if (stratified) byLabel[key === '\u0000unlabelled' ? '(unlabelled)' : key.slice(1)] = { train: members.length - picked.length, validation: picked.length };
  }
  return { sides, validation: k, train: n - k, strata: stratified ? groups.size : 0, ...(stratified ? { byLabel } : {}) };
}

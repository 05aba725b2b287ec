/**
 * Near-duplicate detection: MinHash signatures of word 3-gram sets, built with one-permutation
 * hashing (each shingle hashed once, binned into SIG_SIZE bins, empty bins filled by rotation
 * densification; Shrivastava & Li 2014), and an LSH index over bands of the signature.
 *
 * A signature is a string of SIG_SIZE UTF-16 code units (16-bit values): compact in the per-record
 * facts (about 150 bytes), cheap to compare, and safe to clone or serialise.
 */

export const SIG_SIZE = 64;
const BINS_SHIFT = 26; // 32 - log2(SIG_SIZE): the top 6 bits of a hash choose the bin.
/** Longer texts are signed on their first characters only: enough to tell records apart. */
const MAX_CHARS = 20_000;
/** The LSH uses BANDS bands of ROWS values (the first BANDS × ROWS values of the signature). */
const BANDS = 8;
const ROWS = 4;

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A 32-bit finaliser (murmur3 fmix32): spreads combined hashes over all bits. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Character classes: 0 separator, 1 word character, 2 a word by itself (CJK ideographs and kana). */
const charClass = new Uint8Array(65536);
const lowerOf = new Uint16Array(65536);
const known = new Uint8Array(65536);
const WORD_CHAR = /[\p{L}\p{N}\p{M}]/u;

function classify(c: number): void {
  const ch = String.fromCharCode(c);
  let k = 0;
  if ((c >= 0x3040 && c <= 0x30ff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xf900 && c <= 0xfaff)) k = 2;
  else if (c >= 0xd800 && c <= 0xdfff) k = 1; // astral characters (emoji, rare scripts) stay inside words
  else if (WORD_CHAR.test(ch)) k = 1;
  charClass[c] = k;
  const lower = ch.toLowerCase();
  lowerOf[c] = lower.length === 1 ? lower.charCodeAt(0) : c;
  known[c] = 1;
}
for (let c = 0; c < 128; c++) classify(c);

/**
 * Hashes of the word 3-grams of a text (words lowercased; CJK characters count as words). A hand
 * scanner rather than a Unicode regex: it runs on every record of every validation.
 */
export function shingleHashes(text: string): number[] {
  const words: number[] = [];
  const n = Math.min(text.length, MAX_CHARS);
  let h = 0x811c9dc5;
  let inWord = false;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (!known[c]) classify(c);
    const k = charClass[c]!;
    if (k === 1) {
      h = Math.imul(h ^ lowerOf[c]!, 0x01000193);
      inWord = true;
      continue;
    }
    if (inWord) {
      words.push(h >>> 0);
      h = 0x811c9dc5;
      inWord = false;
    }
    if (k === 2) words.push(Math.imul(0x811c9dc5 ^ c, 0x01000193) >>> 0);
  }
  if (inWord) words.push(h >>> 0);
  if (words.length === 0) return [];
  if (words.length < 3) return [mix(words.reduce((a, w) => Math.imul(a, 31) + w, 17))];
  const out: number[] = [];
  for (let i = 0; i + 2 < words.length; i++) out.push(mix(Math.imul(words[i]!, 0x9e3779b1) ^ Math.imul(words[i + 1]!, 0x85ebca6b) ^ words[i + 2]!));
  return out;
}

/**
 * The MinHash signature of a set of 32-bit element hashes, or undefined for an empty set.
 * Two signatures agree at a position with probability equal to the sets' Jaccard similarity.
 */
export function signatureOf(hashes: readonly number[]): string | undefined {
  if (hashes.length === 0) return undefined;
  const mins = new Uint32Array(SIG_SIZE).fill(0xffffffff);
  const filled = new Uint8Array(SIG_SIZE);
  // Element hashes are already mixed (shingleHashes, textSignature): their bits are uniform.
  for (const h of hashes) {
    const bin = h >>> BINS_SHIFT;
    const v = h & ((1 << BINS_SHIFT) - 1);
    if (!filled[bin] || v < mins[bin]!) {
      mins[bin] = v;
      filled[bin] = 1;
    }
  }
  // Rotation densification: an empty bin borrows the next filled bin's value, salted by the
  // distance, so that two sets agree on it exactly when they agree on the borrowed bin.
  const codes = new Array<number>(SIG_SIZE);
  for (let i = 0; i < SIG_SIZE; i++) {
    let j = i;
    let dist = 0;
    while (!filled[j]) {
      j = (j + 1) % SIG_SIZE;
      dist++;
    }
    codes[i] = mix(mins[j]! + Math.imul(dist, 0x27d4eb2d)) & 0xffff;
  }
  return String.fromCharCode(...codes);
}

/** The signature of a text (its word 3-grams), plus extra whole tokens such as media references. */
export function textSignature(text: string, extraTokens: readonly string[] = []): string | undefined {
  const hashes = shingleHashes(text);
  for (const t of extraTokens) hashes.push(mix(fnv1a(t) ^ 0x1b873593));
  return signatureOf(hashes);
}

/** Estimated Jaccard similarity: the share of positions where two signatures agree. */
export function similarity(a: string, b: string): number {
  let same = 0;
  for (let i = 0; i < SIG_SIZE; i++) if (a.charCodeAt(i) === b.charCodeAt(i)) same++;
  return same / SIG_SIZE;
}

/**
 * Finds, for each record added in order, an earlier record whose signature is at least
 * `threshold` similar. Memory is typed arrays only: the signatures (128 bytes a record) and one
 * open-addressing table of BANDS entries per record, about 200 MB for a million records instead
 * of millions of objects and Map entries.
 */
export class NearDuplicateIndex {
  private keys: Uint32Array;
  private values: Int32Array;
  private used = 0;
  private sigs: Uint16Array;
  private hasSig: Uint8Array;

  constructor(
    private readonly threshold: number,
    expected = 1024,
  ) {
    let cap = 1024;
    while (cap < expected * BANDS * 2) cap *= 2;
    this.keys = new Uint32Array(cap);
    this.values = new Int32Array(cap).fill(-1);
    this.sigs = new Uint16Array(Math.max(1, expected) * SIG_SIZE);
    this.hasSig = new Uint8Array(Math.max(1, expected));
  }

  private store(id: number, sig: string): void {
    if (id >= this.hasSig.length) {
      const n = Math.max(id + 1, this.hasSig.length * 2);
      const sigs = new Uint16Array(n * SIG_SIZE);
      sigs.set(this.sigs);
      this.sigs = sigs;
      const has = new Uint8Array(n);
      has.set(this.hasSig);
      this.hasSig = has;
    }
    const o = id * SIG_SIZE;
    for (let i = 0; i < SIG_SIZE; i++) this.sigs[o + i] = sig.charCodeAt(i);
    this.hasSig[id] = 1;
  }

  private similarityTo(sig: string, id: number): number {
    const o = id * SIG_SIZE;
    let same = 0;
    for (let i = 0; i < SIG_SIZE; i++) if (this.sigs[o + i] === sig.charCodeAt(i)) same++;
    return same / SIG_SIZE;
  }

  /** Adds record `id` (ids must be added in increasing order); returns an earlier near-duplicate's id. */
  add(id: number, sig: string | undefined): { id: number; similarity: number } | undefined {
    if (sig === undefined || sig.length !== SIG_SIZE) return undefined;
    this.store(id, sig);
    let found: { id: number; similarity: number } | undefined;
    for (let b = 0; b < BANDS; b++) {
      let h = Math.imul(b + 1, 0x9e3779b1);
      for (let r = 0; r < ROWS; r++) h = mix(h ^ sig.charCodeAt(b * ROWS + r));
      const slot = this.find(h);
      const earlier = this.values[slot]!;
      if (earlier < 0) {
        this.insert(slot, h, id);
      } else if (!found && this.hasSig[earlier]) {
        const s = this.similarityTo(sig, earlier);
        if (s >= this.threshold) found = { id: earlier, similarity: s };
      }
    }
    return found;
  }

  private find(key: number): number {
    const mask = this.keys.length - 1;
    let i = key & mask;
    while (this.values[i]! >= 0 && this.keys[i] !== key) i = (i + 1) & mask;
    return i;
  }

  private insert(slot: number, key: number, id: number): void {
    this.keys[slot] = key;
    this.values[slot] = id;
    if (++this.used * 2 > this.keys.length) this.grow();
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    this.keys = new Uint32Array(oldKeys.length * 2);
    this.values = new Int32Array(oldKeys.length * 2).fill(-1);
    for (let i = 0; i < oldKeys.length; i++) {
      if (oldValues[i]! < 0) continue;
      const slot = this.find(oldKeys[i]!);
      this.keys[slot] = oldKeys[i]!;
      this.values[slot] = oldValues[i]!;
    }
  }
}

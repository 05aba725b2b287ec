import type { RelativeRange } from './records/positions';
import type { RecordFacts, RecordSummary } from './summary';
import { FORMAT_NAMES, type FormatName } from './types';

/**
 * Compact per-record summaries for streaming validation of very large files (LLaVA's 665k-record
 * mix): the well-known fields of `RecordFacts` live in typed-array columns (about 60 bytes a
 * record instead of ~800 as objects), and `RecordSummary` objects are built only when a dataset
 * rule or the report reads them. Facts are encoded where they are computed (worker threads) so
 * only flat arrays cross threads.
 *
 * The encoding is lossless: a record whose facts do not fit the columns (unknown keys, odd
 * values) is kept verbatim, so materialised summaries always deep-equal the original ones.
 */

/** Facts of a batch of records, encoded for transfer (every array is transferable). */
export interface EncodedFacts {
  count: number;
  /** `NUM_FIELDS` numbers per record (see `Field`). */
  num: Float64Array;
  /** `id` per record (undefined when absent). */
  ids: (string | undefined)[];
  /** Non-empty `extra` objects, by position in the batch (when they are not serialised). */
  extras: [number, Record<string, unknown>][];
  /** Serialised `extra` objects, one after the other (with a serialiser); `extraEnds[k]` ends record k's (empty when equal to the previous end). */
  extraBytes?: Uint8Array;
  extraEnds?: Uint32Array;
  /** Facts that do not fit the columns, kept whole, by position in the batch. */
  verbatim: [number, RecordFacts][];
}

const enum Field {
  Flags, // bit 0: ok; bit 1: verbatim
  Format, // index in FORMAT_NAMES, -1 when absent
  Candidates, // packed 4-bit (index + 1) digits, first candidate lowest
  Image,
  Video,
  Audio,
  Turns,
  ApproxTokens,
  ExtentLine,
  ExtentCharacter,
  ExtentEndLine,
  ExtentEndCharacter,
  Hash, // parseInt(hash, 36), NaN when absent
}
const NUM_FIELDS = 13;

const FORMAT_INDEX = new Map<string, number>(FORMAT_NAMES.map((n, i) => [n, i]));
const KNOWN_KEYS = new Set(['ok', 'format', 'candidates', 'hash', 'id', 'media', 'turns', 'approxTokens', 'extent', 'extra']);
const MAX_PACKED_CANDIDATES = 13; // 13 × 4 bits stay below 2^53

function hasKeys(o: object): boolean {
  for (const k in o) if (Object.prototype.hasOwnProperty.call(o, k)) return true;
  return false;
}

const isU32 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;

/** Builds an `EncodedFacts` record by record (worker side). */
export class FactsEncoder {
  private num: Float64Array;
  private ids: (string | undefined)[] = [];
  private extras: [number, Record<string, unknown>][] = [];
  private verbatim: [number, RecordFacts][] = [];
  private n = 0;
  private bytes: Uint8Array | undefined;
  private ends: number[] = [];
  private used = 0;

  /**
   * `serialize`: turn `extra` objects into bytes here (a worker thread), so that a big file's
   * summaries can keep them on disk (see `ExtraSpill`) instead of as objects in memory.
   */
  constructor(
    capacity = 256,
    private readonly serialize?: (extra: Record<string, unknown>) => Uint8Array,
  ) {
    this.num = new Float64Array(Math.max(1, capacity) * NUM_FIELDS);
  }

  get count(): number {
    return this.n;
  }

  add(facts: RecordFacts): void {
    if ((this.n + 1) * NUM_FIELDS > this.num.length) {
      const grown = new Float64Array(this.num.length * 2);
      grown.set(this.num);
      this.num = grown;
    }
    const i = this.n++;
    const o = i * NUM_FIELDS;
    const num = this.num;
    if (!fitsColumns(facts)) {
      num[o + Field.Flags] = 2;
      this.ids.push(undefined);
      this.verbatim.push([i, facts]);
      this.ends.push(this.used);
      return;
    }
    num[o + Field.Flags] = facts.ok ? 1 : 0;
    num[o + Field.Format] = facts.format === undefined ? -1 : FORMAT_INDEX.get(facts.format)!;
    let packed = 0;
    for (let k = facts.candidates.length - 1; k >= 0; k--) packed = packed * 16 + FORMAT_INDEX.get(facts.candidates[k]!)! + 1;
    num[o + Field.Candidates] = packed;
    num[o + Field.Image] = facts.media.image;
    num[o + Field.Video] = facts.media.video;
    num[o + Field.Audio] = facts.media.audio;
    num[o + Field.Turns] = facts.turns;
    num[o + Field.ApproxTokens] = facts.approxTokens;
    num[o + Field.ExtentLine] = facts.extent.line;
    num[o + Field.ExtentCharacter] = facts.extent.character;
    num[o + Field.ExtentEndLine] = facts.extent.endLine;
    num[o + Field.ExtentEndCharacter] = facts.extent.endCharacter;
    num[o + Field.Hash] = facts.hash === undefined ? NaN : parseInt(facts.hash, 36);
    this.ids.push(facts.id);
    if (!hasKeys(facts.extra)) this.ends.push(this.used);
    else if (!this.serialize) this.extras.push([i, facts.extra]);
    else {
      const b = this.serialize(facts.extra);
      if (!this.bytes || this.used + b.length > this.bytes.length) {
        const grown = new Uint8Array(Math.max(1024, (this.used + b.length) * 2));
        if (this.bytes) grown.set(this.bytes.subarray(0, this.used));
        this.bytes = grown;
      }
      this.bytes.set(b, this.used);
      this.used += b.length;
      this.ends.push(this.used);
    }
  }

  /** The batch so far; the encoder starts over. */
  take(): EncodedFacts {
    const out: EncodedFacts = { count: this.n, num: this.num.slice(0, this.n * NUM_FIELDS), ids: this.ids, extras: this.extras, verbatim: this.verbatim };
    if (this.serialize) {
      out.extraBytes = (this.bytes ?? new Uint8Array(0)).slice(0, this.used);
      out.extraEnds = Uint32Array.from(this.ends);
    }
    this.bytes = undefined;
    this.ends = [];
    this.used = 0;
    this.ids = [];
    this.extras = [];
    this.verbatim = [];
    this.n = 0;
    return out;
  }
}

/** Whether the facts round-trip through the columns exactly. */
function fitsColumns(f: RecordFacts): boolean {
  for (const key in f) {
    if (!KNOWN_KEYS.has(key)) return false;
    if ((f as unknown as Record<string, unknown>)[key] === undefined) return false; // an explicit undefined is a key the columns cannot keep
  }
  if (typeof f.ok !== 'boolean') return false;
  if (f.format !== undefined && !FORMAT_INDEX.has(f.format)) return false;
  if (!Array.isArray(f.candidates) || f.candidates.length > MAX_PACKED_CANDIDATES) return false;
  for (const c of f.candidates) if (!FORMAT_INDEX.has(c)) return false;
  const m = f.media as Partial<Record<string, unknown>> | undefined;
  if (!m || !isU32(m['image']) || !isU32(m['video']) || !isU32(m['audio']) || Object.keys(m).length !== 3) return false;
  if (!isU32(f.turns) || typeof f.approxTokens !== 'number' || Number.isNaN(f.approxTokens)) return false;
  const e = f.extent as Partial<RelativeRange> | undefined;
  if (!e || !isU32(e.line) || !isU32(e.character) || !isU32(e.endLine) || !isU32(e.endCharacter) || Object.keys(e).length !== 4) return false;
  if (f.hash !== undefined) {
    if (typeof f.hash !== 'string' || f.hash.length === 0 || f.hash.length > 11) return false;
    const n = parseInt(f.hash, 36);
    if (!Number.isSafeInteger(n) || n.toString(36) !== f.hash) return false;
  }
  if (f.id !== undefined && typeof f.id !== 'string') return false;
  if (!f.extra || typeof f.extra !== 'object' || Array.isArray(f.extra)) return false;
  return true;
}

/** Grows a typed array to hold at least `n` elements. */
function grow<T extends Float64Array | Uint32Array | Uint8Array | Int8Array>(a: T, n: number, make: (len: number) => T): T {
  if (n <= a.length) return a;
  const b = make(Math.max(n, a.length * 2));
  b.set(a);
  return b;
}

/**
 * Where a big file's `extra` facts go: bytes appended to storage outside the heap (a temporary
 * file, in node/spill.ts), read back when a summary is built. What the rule families keep per
 * record (spans, signatures, anchors) is several times the columns; on disk, a 1 GB file's
 * summaries stay within a few dozen MB of memory.
 */
export interface ExtraSpill {
  /** Stores bytes; returns where they are. */
  append(bytes: Uint8Array): number;
  read(position: number, length: number): Uint8Array;
  decode(bytes: Uint8Array): Record<string, unknown>;
}

/**
 * The summaries of a whole file, compact. `view()` is an array-like of `RecordSummary` for
 * dataset rules (summaries are built on access, so rules should keep indexes, not objects).
 */
export class SummaryStore {
  private n = 0;
  private flags = new Uint8Array(1024);
  private format = new Int8Array(1024);
  private candidates = new Float64Array(1024);
  private media = new Uint32Array(1024 * 3);
  private turns = new Uint32Array(1024);
  private tokens = new Float64Array(1024);
  private extent = new Uint32Array(1024 * 4);
  private hash = new Float64Array(1024);
  private line = new Float64Array(1024);
  private column = new Float64Array(1024);
  private ids: (string | undefined)[] = [];
  /** `extra` per record (undefined when empty); rule families keep their per-record facts there. */
  private extras: (Record<string, unknown> | undefined)[] = [];
  private readonly verbatim = new Map<number, RecordFacts>();
  private readonly candidateLists = new Map<number, FormatName[]>();
  /** Spilled `extra` facts: where each record's bytes are (length 0: none). */
  private extraPos = new Float64Array(0);
  private extraLen = new Uint32Array(0);

  constructor(private readonly spill?: ExtraSpill) {}

  get length(): number {
    return this.n;
  }

  /** Appends a batch; `line[k]`/`column[k]` are the positions of its records (indexes follow on). */
  append(batch: EncodedFacts, line: ArrayLike<number>, column: ArrayLike<number>): void {
    const start = this.n;
    const end = start + batch.count;
    this.reserve(end);
    const src = batch.num;
    for (let k = 0; k < batch.count; k++) {
      const i = start + k;
      const o = k * NUM_FIELDS;
      this.flags[i] = src[o + Field.Flags]!;
      this.format[i] = src[o + Field.Format]!;
      this.candidates[i] = src[o + Field.Candidates]!;
      this.media[i * 3] = src[o + Field.Image]!;
      this.media[i * 3 + 1] = src[o + Field.Video]!;
      this.media[i * 3 + 2] = src[o + Field.Audio]!;
      this.turns[i] = src[o + Field.Turns]!;
      this.tokens[i] = src[o + Field.ApproxTokens]!;
      this.extent[i * 4] = src[o + Field.ExtentLine]!;
      this.extent[i * 4 + 1] = src[o + Field.ExtentCharacter]!;
      this.extent[i * 4 + 2] = src[o + Field.ExtentEndLine]!;
      this.extent[i * 4 + 3] = src[o + Field.ExtentEndCharacter]!;
      this.hash[i] = src[o + Field.Hash]!;
      this.line[i] = line[k]!;
      this.column[i] = column[k]!;
      this.ids.push(batch.ids[k]);
      this.extras.push(undefined);
    }
    for (const [k, extra] of batch.extras) this.extras[start + k] = extra;
    if (batch.extraBytes && batch.extraEnds) {
      if (!this.spill) throw new Error('SummaryStore: serialised extra facts need an ExtraSpill');
      this.extraPos = grow(this.extraPos, end, (l) => new Float64Array(l));
      this.extraLen = grow(this.extraLen, end, (l) => new Uint32Array(l));
      const base = batch.extraBytes.length > 0 ? this.spill.append(batch.extraBytes) : 0;
      let from = 0;
      for (let k = 0; k < batch.count; k++) {
        const to = batch.extraEnds[k]!;
        this.extraPos[start + k] = base + from;
        this.extraLen[start + k] = to - from;
        from = to;
      }
    }
    for (const [k, facts] of batch.verbatim) this.verbatim.set(start + k, facts);
    this.n = end;
  }

  /** Builds record `i`'s summary (a fresh object each call). */
  get(i: number): RecordSummary {
    if ((this.flags[i]! & 2) !== 0) return { ...this.verbatim.get(i)!, index: i, line: this.line[i]!, column: this.column[i]! };
    const s: RecordSummary = {
      ok: (this.flags[i]! & 1) === 1,
      candidates: this.candidatesOf(this.candidates[i]!),
      media: { image: this.media[i * 3]!, video: this.media[i * 3 + 1]!, audio: this.media[i * 3 + 2]! },
      turns: this.turns[i]!,
      approxTokens: this.tokens[i]!,
      extent: { line: this.extent[i * 4]!, character: this.extent[i * 4 + 1]!, endLine: this.extent[i * 4 + 2]!, endCharacter: this.extent[i * 4 + 3]! },
      extra: this.extras[i] ?? this.spilledExtra(i) ?? {},
      index: i,
      line: this.line[i]!,
      column: this.column[i]!,
    };
    const f = this.format[i]!;
    if (f >= 0) s.format = FORMAT_NAMES[f]!;
    const h = this.hash[i]!;
    if (!Number.isNaN(h)) s.hash = h.toString(36);
    const id = this.ids[i];
    if (id !== undefined) s.id = id;
    return s;
  }

  /**
   * The summaries as a read-only array (what `DatasetRule.check` takes): indexing, `length`,
   * iteration and the array methods work; each access builds the summary anew.
   */
  view(): RecordSummary[] {
    return new Proxy<RecordSummary[]>([], this.proxyHandler());
  }

  private proxyHandler(): ProxyHandler<RecordSummary[]> {
    const get = (i: number): RecordSummary => this.get(i);
    const count = (): number => this.n;
    return {
      get(t, prop, receiver) {
        if (typeof prop === 'string') {
          if (prop === 'length') return count();
          const c = prop.charCodeAt(0);
          if (c >= 48 && c <= 57) {
            const i = Number(prop);
            return Number.isInteger(i) && i < count() ? get(i) : undefined;
          }
        } else if (prop === Symbol.iterator) {
          return function* iterate(): Generator<RecordSummary> {
            for (let i = 0; i < count(); i++) yield get(i);
          };
        }
        return Reflect.get(t, prop, receiver) as unknown;
      },
      has(t, prop) {
        if (typeof prop === 'string') {
          const i = Number(prop);
          if (prop !== '' && Number.isInteger(i) && i >= 0) return i < count();
        }
        return Reflect.has(t, prop);
      },
      set() {
        return false;
      },
    };
  }

  private spilledExtra(i: number): Record<string, unknown> | undefined {
    const len = i < this.extraLen.length ? this.extraLen[i]! : 0;
    return len > 0 ? this.spill!.decode(this.spill!.read(this.extraPos[i]!, len)) : undefined;
  }

  /** Bytes held by the columns (for the benchmark's memory figure). */
  get columnBytes(): number {
    return (
      this.flags.byteLength +
      this.format.byteLength +
      this.candidates.byteLength +
      this.media.byteLength +
      this.turns.byteLength +
      this.tokens.byteLength +
      this.extent.byteLength +
      this.hash.byteLength +
      this.line.byteLength +
      this.column.byteLength +
      this.extraPos.byteLength +
      this.extraLen.byteLength
    );
  }

  private candidatesOf(packed: number): FormatName[] {
    let list = this.candidateLists.get(packed);
    if (!list) {
      list = [];
      for (let p = packed; p > 0; p = Math.floor(p / 16)) list.push(FORMAT_NAMES[(p % 16) - 1]!);
      // Shared by every record with these candidates, so frozen: summaries are read-only.
      Object.freeze(list);
      this.candidateLists.set(packed, list);
    }
    return list;
  }

  private reserve(n: number): void {
    this.flags = grow(this.flags, n, (l) => new Uint8Array(l));
    this.format = grow(this.format, n, (l) => new Int8Array(l));
    this.candidates = grow(this.candidates, n, (l) => new Float64Array(l));
    this.media = grow(this.media, n * 3, (l) => new Uint32Array(l));
    this.turns = grow(this.turns, n, (l) => new Uint32Array(l));
    this.tokens = grow(this.tokens, n, (l) => new Float64Array(l));
    this.extent = grow(this.extent, n * 4, (l) => new Uint32Array(l));
    this.hash = grow(this.hash, n, (l) => new Float64Array(l));
    this.line = grow(this.line, n, (l) => new Float64Array(l));
    this.column = grow(this.column, n, (l) => new Float64Array(l));
  }
}

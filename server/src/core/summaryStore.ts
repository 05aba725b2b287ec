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

/** Records per page of a column: columns grow a page at a time, never copied. */
const PAGE_BITS = 12;
const PAGE = 1 << PAGE_BITS;
const PAGE_MASK = PAGE - 1;

type Page = Uint8Array | Uint16Array | Uint32Array | Float64Array;

/** Whether `v` can be stored in `page` and read back identical (`-0`, fractions, negatives and NaN need 64-bit floats). */
function fits(page: Page, v: number): boolean {
  if (page instanceof Float64Array) return true;
  if (!Number.isInteger(v) || v < 0 || Object.is(v, -0)) return false;
  return page instanceof Uint8Array ? v <= 0xff : page instanceof Uint16Array ? v <= 0xffff : v <= 0xffffffff;
}

/** The narrowest page type holding the page's values and `v`. */
function widen(page: Page, v: number): Page {
  const candidates: ((n: number) => Page)[] = [(n) => new Uint16Array(n), (n) => new Uint32Array(n), (n) => new Float64Array(n)];
  for (const make of candidates) {
    const wider = make(PAGE);
    if (wider.BYTES_PER_ELEMENT > page.BYTES_PER_ELEMENT && fits(wider, v)) {
      wider.set(page);
      return wider;
    }
  }
  throw new Error('unreachable: a Float64Array page holds any number');
}

/**
 * A column of numbers, lossless and compact: pages of `PAGE` records start one byte a value and
 * widen (16, 32 bits, then 64-bit floats) only where a value needs it. Most facts are small
 * counts, so most pages stay one or two bytes a record. Written in order (`set` at `length` or
 * below), read anywhere.
 */
class NumberColumn {
  private readonly pages: Page[] = [];

  get(i: number): number {
    return this.pages[i >>> PAGE_BITS]![i & PAGE_MASK]!;
  }

  set(i: number, v: number): void {
    const p = i >>> PAGE_BITS;
    let page = this.pages[p];
    if (page === undefined) {
      while (this.pages.length <= p) this.pages.push(new Uint8Array(PAGE));
      page = this.pages[p]!;
    }
    if (!fits(page, v)) page = this.pages[p] = widen(page, v);
    page[i & PAGE_MASK] = v;
  }

  get byteLength(): number {
    let n = 0;
    for (const p of this.pages) n += p.byteLength;
    return n;
  }
}

/** Longest joined string of a page of ids (V8 strings stop at ~2^29 characters). */
const MAX_JOINED_IDS = 1 << 26;

/**
 * Record ids, compact: a full page's ids become one string (ids are mostly short, and a string
 * each would cost ~30 bytes of header and pointer), with `2 × end + present` per record (where
 * its id ends in that string; present 0 for a record without id). The page being filled keeps its
 * ids as they came.
 */
class IdColumn {
  private readonly joined: (string | (string | undefined)[])[] = [];
  private readonly ends = new NumberColumn();
  private filling: (string | undefined)[] = [];
  private chars = 0;

  push(i: number, id: string | undefined): void {
    this.filling.push(id);
    if (id !== undefined) this.chars += id.length;
    if ((i & PAGE_MASK) === PAGE_MASK) this.seal(i);
  }

  get(i: number): string | undefined {
    const p = i >>> PAGE_BITS;
    const page = p < this.joined.length ? this.joined[p]! : this.filling;
    if (typeof page !== 'string') return page[i & PAGE_MASK];
    const code = this.ends.get(i);
    if ((code & 1) === 0) return undefined;
    const start = (i & PAGE_MASK) === 0 ? 0 : Math.floor(this.ends.get(i - 1) / 2);
    return page.slice(start, Math.floor(code / 2));
  }

  get byteLength(): number {
    let n = this.ends.byteLength;
    for (const j of this.joined) n += typeof j === 'string' ? j.length : j.length * 8;
    return n + this.filling.length * 8;
  }

  private seal(last: number): void {
    const ids = this.filling;
    this.filling = [];
    const chars = this.chars;
    this.chars = 0;
    if (chars > MAX_JOINED_IDS) {
      this.joined.push(ids);
      return;
    }
    const first = last - PAGE_MASK;
    let end = 0;
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k];
      if (id !== undefined) end += id.length;
      this.ends.set(first + k, end * 2 + (id === undefined ? 0 : 1));
    }
    this.joined.push(ids.join(''));
  }
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
  private readonly flags = new NumberColumn();
  /** Index in FORMAT_NAMES plus one (0: absent). */
  private readonly format = new NumberColumn();
  private readonly candidates = new NumberColumn();
  private readonly image = new NumberColumn();
  private readonly video = new NumberColumn();
  private readonly audio = new NumberColumn();
  private readonly turns = new NumberColumn();
  private readonly tokens = new NumberColumn();
  private readonly extentLine = new NumberColumn();
  private readonly extentCharacter = new NumberColumn();
  private readonly extentEndLine = new NumberColumn();
  private readonly extentEndCharacter = new NumberColumn();
  private readonly hash = new NumberColumn();
  private readonly line = new NumberColumn();
  private readonly column = new NumberColumn();
  private readonly ids = new IdColumn();
  /** `extra` per record (undefined when empty); rule families keep their per-record facts there. Filled only once a batch brings one. */
  private readonly extras: (Record<string, unknown> | undefined)[] = [];
  private readonly verbatim = new Map<number, RecordFacts>();
  private readonly candidateLists = new Map<number, FormatName[]>();
  /** Spilled `extra` facts: where each record's bytes are (length 0: none). */
  private readonly extraPos = new NumberColumn();
  private readonly extraLen = new NumberColumn();
  private spilled = 0;

  constructor(private readonly spill?: ExtraSpill) {}

  get length(): number {
    return this.n;
  }

  /** Appends a batch; `line[k]`/`column[k]` are the positions of its records (indexes follow on). */
  append(batch: EncodedFacts, line: ArrayLike<number>, column: ArrayLike<number>): void {
    const start = this.n;
    const end = start + batch.count;
    const src = batch.num;
    for (let k = 0; k < batch.count; k++) {
      const i = start + k;
      const o = k * NUM_FIELDS;
      this.flags.set(i, src[o + Field.Flags]!);
      this.format.set(i, src[o + Field.Format]! + 1);
      this.candidates.set(i, src[o + Field.Candidates]!);
      this.image.set(i, src[o + Field.Image]!);
      this.video.set(i, src[o + Field.Video]!);
      this.audio.set(i, src[o + Field.Audio]!);
      this.turns.set(i, src[o + Field.Turns]!);
      this.tokens.set(i, src[o + Field.ApproxTokens]!);
      this.extentLine.set(i, src[o + Field.ExtentLine]!);
      this.extentCharacter.set(i, src[o + Field.ExtentCharacter]!);
      this.extentEndLine.set(i, src[o + Field.ExtentEndLine]!);
      this.extentEndCharacter.set(i, src[o + Field.ExtentEndCharacter]!);
      this.hash.set(i, src[o + Field.Hash]!);
      this.line.set(i, line[k]!);
      this.column.set(i, column[k]!);
      this.ids.push(i, batch.ids[k]);
    }
    if (batch.extras.length > 0) {
      while (this.extras.length < start) this.extras.push(undefined);
      for (const [k, extra] of batch.extras) {
        while (this.extras.length < start + k) this.extras.push(undefined);
        this.extras.push(extra);
      }
    }
    if (batch.extraBytes && batch.extraEnds) {
      if (!this.spill) throw new Error('SummaryStore: serialised extra facts need an ExtraSpill');
      const base = batch.extraBytes.length > 0 ? this.spill.append(batch.extraBytes) : 0;
      let from = 0;
      for (let k = 0; k < batch.count; k++) {
        const to = batch.extraEnds[k]!;
        this.extraPos.set(start + k, base + from);
        this.extraLen.set(start + k, to - from);
        from = to;
      }
      this.spilled = end;
    }
    for (const [k, facts] of batch.verbatim) this.verbatim.set(start + k, facts);
    this.n = end;
  }

  /** Builds record `i`'s summary (a fresh object each call). */
  get(i: number): RecordSummary {
    if ((this.flags.get(i) & 2) !== 0) return { ...this.verbatim.get(i)!, index: i, line: this.line.get(i), column: this.column.get(i) };
    const extraOf = (): Record<string, unknown> => this.extraOf(i);
    let extra: Record<string, unknown> | undefined;
    const s: RecordSummary = {
      ok: (this.flags.get(i) & 1) === 1,
      candidates: this.candidatesOf(this.candidates.get(i)),
      media: { image: this.image.get(i), video: this.video.get(i), audio: this.audio.get(i) },
      turns: this.turns.get(i),
      approxTokens: this.tokens.get(i),
      extent: { line: this.extentLine.get(i), character: this.extentCharacter.get(i), endLine: this.extentEndLine.get(i), endCharacter: this.extentEndCharacter.get(i) },
      // Read back on first access: the dataset rules that never look at `extra` (formats,
      // duplicates) then cost no decoding of a spilled record.
      get extra(): Record<string, unknown> {
        return (extra ??= extraOf());
      },
      index: i,
      line: this.line.get(i),
      column: this.column.get(i),
    };
    const f = this.format.get(i);
    if (f > 0) s.format = FORMAT_NAMES[f - 1]!;
    const h = this.hash.get(i);
    if (!Number.isNaN(h)) s.hash = h.toString(36);
    const id = this.ids.get(i);
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

  private extraOf(i: number): Record<string, unknown> {
    return (i < this.extras.length ? this.extras[i] : undefined) ?? this.spilledExtra(i) ?? {};
  }

  private spilledExtra(i: number): Record<string, unknown> | undefined {
    const len = i < this.spilled ? this.extraLen.get(i) : 0;
    return len > 0 ? this.spill!.decode(this.spill!.read(this.extraPos.get(i), len)) : undefined;
  }

  /** Bytes held by the columns and ids (for the benchmark's memory figure). */
  get columnBytes(): number {
    const columns = [
      this.flags,
      this.format,
      this.candidates,
      this.image,
      this.video,
      this.audio,
      this.turns,
      this.tokens,
      this.extentLine,
      this.extentCharacter,
      this.extentEndLine,
      this.extentEndCharacter,
      this.hash,
      this.line,
      this.column,
      this.extraPos,
      this.extraLen,
    ];
    let n = this.ids.byteLength + this.extras.length * 8;
    for (const c of columns) n += c.byteLength;
    return n;
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
}

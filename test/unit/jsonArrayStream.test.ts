import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { JsonArrayScanner, type ArrayProblem } from '../../server/src/core/records/jsonArray';
import type { RawRecord } from '../../server/src/core/types';
import { llavaRecord, rng } from '../helpers/generate';

/**
 * The JSON array scanner skips string contents with indexOf (the speed the 1 GB LLaVA mix needs).
 * It must behave exactly like the plain character-by-character scanner below, for any input and
 * any chunking, and it must stream: hold one element at most, never the array.
 */

/** The reference: one character at a time, the same states and messages (the scanner before the indexOf fast path). */
class ReferenceScanner {
  private state: 'start' | 'beforeValue' | 'inValue' | 'done' = 'start';
  private depth = 0;
  private inString = false;
  private escape = false;
  private buf: string[] = [];
  private elem = { offset: 0, line: 0, column: 0 };
  private offset = 0;
  private line = 0;
  private column = 0;
  private index = 0;
  private first = true;
  private trailingReported = false;

  constructor(
    private readonly emit: (r: RawRecord) => void,
    private readonly problem: (p: ArrayProblem) => void,
  ) {}

  push(chunk: string): void {
    let i = 0;
    if (this.first && chunk.length > 0) {
      this.first = false;
      if (chunk.charCodeAt(0) === 0xfeff) i = 1;
    }
    let segStart = -1;
    for (; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (this.state === 'inValue') {
        if (segStart < 0) segStart = i;
        if (this.inString) {
          if (this.escape) this.escape = false;
          else if (c === 92) this.escape = true;
          else if (c === 34 || c === 10) this.inString = false;
        } else if (c === 34) this.inString = true;
        else if (c === 123 || c === 91) this.depth++;
        else if (c === 125 || c === 93) {
          if (this.depth === 0) {
            this.buf.push(chunk.slice(segStart, i));
            segStart = -1;
            this.finish();
            this.state = 'done';
            this.advance(c);
            continue;
          }
          this.depth--;
        } else if (c === 44 && this.depth === 0) {
          this.buf.push(chunk.slice(segStart, i));
          segStart = -1;
          this.finish();
          this.state = 'beforeValue';
          this.advance(c);
          continue;
        }
        this.advance(c);
        continue;
      }
      if (!(c === 32 || c === 10 || c === 13 || c === 9)) {
        if (this.state === 'start') {
          if (c === 91) this.state = 'beforeValue';
          else {
            this.report('The file does not start with "[": a JSON dataset file must be an array of records (or use .jsonl).');
            this.state = 'done';
            this.trailingReported = true;
          }
        } else if (this.state === 'beforeValue') {
          if (c === 93) this.state = 'done';
          else if (c === 44) this.report('Empty array element (two commas in a row).');
          else {
            this.state = 'inValue';
            this.depth = 0;
            this.inString = false;
            this.escape = false;
            this.elem = { offset: this.offset, line: this.line, column: this.column };
            segStart = i;
            i--;
            continue;
          }
        } else if (this.state === 'done' && !this.trailingReported) {
          this.trailingReported = true;
          this.report('Unexpected text after the closing "]" of the array.');
        }
      }
      this.advance(c);
    }
    if (segStart >= 0) this.buf.push(chunk.slice(segStart));
  }

  end(): void {
    if (this.state === 'inValue') {
      this.finish();
      this.report('The array is not closed: "]" is missing at the end of the file.', 0);
    } else if (this.state === 'start') this.report('The file is empty: expected a JSON array of records.', 0);
    else if (this.state === 'beforeValue') this.report('The array is not closed: "]" is missing at the end of the file.', 0);
    this.state = 'done';
  }

  private advance(c: number): void {
    this.offset++;
    if (c === 10) {
      this.line++;
      this.column = 0;
    } else this.column++;
  }

  private finish(): void {
    const text = this.buf.join('').replace(/[ \n\r\t]+$/, '');
    this.buf = [];
    this.emit({ index: this.index++, ...this.elem, text });
  }

  private report(message: string, width = 1): void {
    this.problem({ offset: this.offset, line: this.line, column: this.column, message, width });
  }
}

function run(make: (e: (r: RawRecord) => void, p: (p: ArrayProblem) => void) => { push(c: string): void; end(): void }, chunks: string[]): { records: RawRecord[]; problems: ArrayProblem[] } {
  const records: RawRecord[] = [];
  const problems: ArrayProblem[] = [];
  const s = make(
    (r) => records.push(r),
    (p) => problems.push(p),
  );
  for (const c of chunks) s.push(c);
  s.end();
  return { records, problems };
}

/** Random JSON-ish text biased toward what matters: quotes, escapes, brackets, commas, raw newlines. */
function randomArrayText(r: () => number): string {
  const pieces = ['[', ']', '{', '}', '"', '\\', '\\"', '\\\\', ',', ':', '\n', '\r\n', ' ', '  ', 'abc', 'é', '😀', '1', 'null', '"k": "v"', '[]', '{}'];
  const parts: string[] = [r() < 0.9 ? '[' : ' '];
  const n = 5 + Math.floor(r() * 120);
  for (let i = 0; i < n; i++) parts.push(pieces[Math.floor(r() * pieces.length)]!);
  if (r() < 0.7) parts.push(']');
  if (r() < 0.2) parts.push(' x');
  return (r() < 0.1 ? '\ufeff' : '') + parts.join('');
}

function randomChunks(text: string, r: () => number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; ) {
    const n = 1 + Math.floor(r() * (r() < 0.5 ? 4 : 40));
    out.push(text.slice(i, i + n));
    i += n;
  }
  return out;
}

test('the fast JSON array scanner agrees with the character-by-character one on random text and chunkings', () => {
  const r = rng(2024);
  for (let k = 0; k < 3000; k++) {
    const text = randomArrayText(r);
    const whole = run((e, p) => new ReferenceScanner(e, p), [text]);
    const fast = run((e, p) => new JsonArrayScanner(e, p), randomChunks(text, r));
    assert.deepEqual(fast, whole, `input ${JSON.stringify(text)}`);
  }
});

test('the fast scanner agrees on real-looking records, pretty-printed and in one line, in any chunk size', () => {
  const r = rng(5);
  const records = Array.from({ length: 300 }, (_, i) => llavaRecord(i, r));
  for (const text of [JSON.stringify(records), JSON.stringify(records, null, 2), JSON.stringify(records, null, '\t').replace(/\n/g, '\r\n')]) {
    const whole = run((e, p) => new ReferenceScanner(e, p), [text]);
    assert.equal(whole.records.length, 300);
    for (const size of [1, 7, 1000, 65536]) {
      const chunks: string[] = [];
      for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
      assert.deepEqual(run((e, p) => new JsonArrayScanner(e, p), chunks), whole, `chunk size ${size}`);
    }
  }
});

test('a 1 GB-shaped array streams: each element comes out as soon as it ends, and only one element is ever held', () => {
  // LLaVA's mix is one line of 665k elements. Feed a generated stream of the same shape chunk by
  // chunk (never building the text) and count: memory cannot depend on the array's length if
  // the scanner emits every finished element at once and buffers less than one element.
  const r = rng(6);
  const ELEMENTS = 60_000;
  const CHUNK = 64 * 1024;
  let emitted = 0;
  let maxElement = 0;
  const scanner = new JsonArrayScanner(
    (rec) => {
      assert.equal(rec.index, emitted, 'elements in order');
      emitted++;
    },
    (p) => assert.fail(`unexpected problem: ${p.message}`),
  );
  let pending = '[';
  let total = 1; // characters generated so far
  const ends: number[] = []; // where each element's terminator (its comma, or the final ']') is
  let fed = 0;
  let due = 0; // elements whose terminator has been fed
  let maxBuffered = 0;
  const feed = (chunk: string): void => {
    scanner.push(chunk);
    fed += chunk.length;
    while (due < ends.length && ends[due]! < fed) due++;
    assert.equal(emitted, due, `after ${fed} characters`);
    maxBuffered = Math.max(maxBuffered, scanner.bufferedChars);
  };
  for (let i = 0; i < ELEMENTS; i++) {
    const element = JSON.stringify(llavaRecord(i, r));
    maxElement = Math.max(maxElement, element.length);
    if (i > 0) {
      ends.push(total);
      pending += ',';
      total++;
    }
    pending += element;
    total += element.length;
    while (pending.length >= CHUNK) {
      feed(pending.slice(0, CHUNK));
      pending = pending.slice(CHUNK);
    }
  }
  ends.push(total);
  feed(pending + ']');
  scanner.end();
  assert.equal(emitted, ELEMENTS);
  assert.ok(fed > 60 * 1e6, 'the stream is tens of megabytes');
  assert.ok(maxBuffered <= maxElement, `held ${maxBuffered} characters, longer than the longest element (${maxElement})`);
});

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { JsonArrayScanner, type ArrayProblem } from '../../server/src/core/records/jsonArray';
import { JsonlSplitter } from '../../server/src/core/records/jsonl';
import { DEFAULT_SETTINGS } from '../../server/src/core/settings';
import type { RawRecord } from '../../server/src/core/types';
import { DatasetValidator, splitText, type FileKind, type Finding, type ValidationResult } from '../../server/src/core/validator';
import { validateFile } from '../../server/src/node/validateFile';
import { FUZZ_ITERATIONS, FUZZ_SEED, PATHOLOGICAL, Prng, randomBytesDocument, randomDocument, seedRecords } from '../helpers/fuzz';
import { ROOT } from '../helpers/fixtures';

/**
 * Hostile input through the core: it must never throw, every diagnostic must lie inside the
 * document, streaming in random chunks must split exactly like one shot, and a validator reused
 * across documents (the editor's cache) must agree with a fresh one. Seeded: replay a failure
 * with FUZZ_SEED=<seed>; run longer with FUZZ_ITERATIONS=<n>.
 */

/** Hang detector only (not a performance assertion): no single validation may take this long. */
const HANG_LIMIT_MS = 30_000;

function validate(validator: DatasetValidator, text: string, kind: FileKind, label: string): ValidationResult {
  const started = Date.now();
  let result: ValidationResult;
  try {
    result = validator.validateText(text, kind);
  } catch (err) {
    assert.fail(`validateText threw on ${label} (seed ${FUZZ_SEED}): ${err instanceof Error ? err.stack : String(err)}`);
  }
  const took = Date.now() - started;
  assert.ok(took < HANG_LIMIT_MS, `validating ${label} took ${took} ms: a hang or runaway work`);
  return result;
}

/** Line lengths in UTF-16 units, splitting on \n only (a CR stays in its line, as the server's ranges do). */
function lineLengths(text: string): number[] {
  const out: number[] = [];
  let start = 0;
  for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
    out.push(nl - start);
    start = nl + 1;
  }
  out.push(text.length - start);
  return out;
}

function assertInsideDocument(text: string, findings: Finding[], label: string): void {
  const lengths = lineLengths(text);
  for (const f of findings) {
    const where = `${f.code} ${JSON.stringify(f.range)} in ${label}`;
    for (const p of [f.range.start, f.range.end]) {
      assert.ok(Number.isInteger(p.line) && p.line >= 0 && p.line < lengths.length, `line outside the document: ${where}`);
      assert.ok(Number.isInteger(p.character) && p.character >= 0 && p.character <= lengths[p.line]!, `column outside its line: ${where}`);
    }
    const s = f.range.start;
    const e = f.range.end;
    assert.ok(s.line < e.line || (s.line === e.line && s.character <= e.character), `range ends before it starts: ${where}`);
    assert.ok(f.message.length > 0, `empty message: ${where}`);
  }
}

function comparable(r: ValidationResult): unknown {
  return { findings: r.findings, records: r.records, format: r.format, truncated: r.truncated };
}

function splitChunked(text: string, kind: FileKind, rng: Prng): { records: RawRecord[]; problems: ArrayProblem[] } {
  const records: RawRecord[] = [];
  const problems: ArrayProblem[] = [];
  const splitter = kind === 'jsonl' ? new JsonlSplitter((r) => records.push(r)) : new JsonArrayScanner((r) => records.push(r), (p) => problems.push(p));
  for (let i = 0; i < text.length; ) {
    const n = 1 + rng.int(rng.int(4) === 0 ? 4 : 4096);
    splitter.push(text.slice(i, i + n));
    i += n;
  }
  splitter.end();
  return { records, problems };
}

function splitWhole(text: string, kind: FileKind): { records: RawRecord[]; problems: ArrayProblem[] } {
  const records: RawRecord[] = [];
  const problems: ArrayProblem[] = [];
  splitText(text, kind, (r) => records.push(r), (p) => problems.push(p));
  return { records, problems };
}

function newValidator(): DatasetValidator {
  return new DatasetValidator({ settings: DEFAULT_SETTINGS });
}

describe('fuzz: core validation of hostile input', () => {
  const seeds = seedRecords(ROOT);

  test(`random mutated documents never throw, stay inside the document, and agree with a fresh validator (${FUZZ_ITERATIONS} iterations, seed ${FUZZ_SEED})`, () => {
    const rng = new Prng(FUZZ_SEED);
    // One long-lived validator per kind, like the server's per-document cache across edits.
    const reused = { jsonl: newValidator(), json: newValidator() };
    for (let i = 0; i < FUZZ_ITERATIONS; i++) {
      const kind: FileKind = rng.int(3) === 0 ? 'json' : 'jsonl';
      const text = rng.int(8) === 0 ? randomBytesDocument(rng) : randomDocument(rng, seeds, kind === 'json');
      const label = `iteration ${i} (${kind}, ${text.length} chars)`;
      const fresh = validate(newValidator(), text, kind, label);
      assertInsideDocument(text, fresh.findings, label);
      const cached = validate(reused[kind], text, kind, `${label}, cached`);
      assert.deepEqual(comparable(cached), comparable(fresh), `the cached validator disagrees with a fresh one on ${label}: ${JSON.stringify(text.slice(0, 300))}`);
      const otherKind: FileKind = kind === 'json' ? 'jsonl' : 'json';
      assertInsideDocument(text, validate(newValidator(), text, otherKind, `${label} read as ${otherKind}`).findings, `${label} read as ${otherKind}`);
    }
  });

  test(`streaming splitters give the same records in any chunking (${FUZZ_ITERATIONS} iterations)`, () => {
    const rng = new Prng(FUZZ_SEED + 1);
    for (let i = 0; i < FUZZ_ITERATIONS; i++) {
      const kind: FileKind = rng.int(2) === 0 ? 'json' : 'jsonl';
      const text = rng.int(8) === 0 ? randomBytesDocument(rng) : randomDocument(rng, seeds, kind === 'json');
      const whole = splitWhole(text, kind);
      const chunked = splitChunked(text, kind, rng);
      assert.deepEqual(chunked, whole, `chunked split differs on iteration ${i} (${kind}): ${JSON.stringify(text.slice(0, 300))}`);
      for (const r of whole.records) {
        // A record's text is exactly the document text at its offset (after a dropped BOM).
        const bom = text.charCodeAt(0) === 0xfeff ? 1 : 0;
        assert.equal(text.slice(r.offset + bom, r.offset + bom + r.text.length), r.text, `record ${r.index} offset is wrong on iteration ${i}`);
      }
    }
  });

  for (const p of PATHOLOGICAL) {
    test(`pathological: ${p.name}`, () => {
      const text = p.text();
      const result = validate(newValidator(), text, p.kind, p.name);
      assertInsideDocument(text, result.findings, p.name);
      // The same input read as the other file kind (small inputs only: that doubles the big ones'
      // cost for little news), and through the streaming splitter in 64 KB chunks.
      if (text.length < 1_000_000) {
        const other: FileKind = p.kind === 'json' ? 'jsonl' : 'json';
        assertInsideDocument(text, validate(newValidator(), text, other, `${p.name} as ${other}`).findings, `${p.name} as ${other}`);
      }
      const chunks = { records: [] as RawRecord[], problems: [] as ArrayProblem[] };
      const splitter = p.kind === 'jsonl' ? new JsonlSplitter((r) => chunks.records.push(r)) : new JsonArrayScanner((r) => chunks.records.push(r), (q) => chunks.problems.push(q));
      const started = Date.now();
      for (let i = 0; i < text.length; i += 65_536) splitter.push(text.slice(i, i + 65_536));
      splitter.end();
      assert.ok(Date.now() - started < HANG_LIMIT_MS, `splitting ${p.name} in chunks hung`);
      assert.deepEqual(chunks, splitWhole(text, p.kind));
    });
  }

  test('pathological inputs from disk (the CLI\'s streaming path) never throw and stay inside the document', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunekit-fuzz-'));
    try {
      for (const [i, p] of PATHOLOGICAL.entries()) {
        const text = p.text();
        const file = path.join(dir, `case-${i}.${p.kind}`);
        fs.writeFileSync(file, text);
        const started = Date.now();
        let result: ValidationResult;
        try {
          result = await validateFile(file, { settings: DEFAULT_SETTINGS });
        } catch (err) {
          assert.fail(`validateFile threw on ${p.name}: ${err instanceof Error ? err.stack : String(err)}`);
        }
        assert.ok(Date.now() - started < HANG_LIMIT_MS, `validating ${p.name} from disk hung`);
        assertInsideDocument(text, result.findings, `${p.name} from disk`);
        fs.rmSync(file);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a 100 MB line streamed in 64 KB chunks is split in linear time (a quadratic splitter trips the hang detector)', () => {
    const chunk = 'x'.repeat(65_536);
    const lengths: number[] = [];
    const splitter = new JsonlSplitter((r) => lengths.push(r.text.length));
    const started = Date.now();
    splitter.push('{"text":"');
    for (let i = 0; i < 1_600; i++) splitter.push(chunk);
    splitter.push('"}\n{"text":"next"}');
    splitter.end();
    assert.ok(Date.now() - started < HANG_LIMIT_MS, 'splitting one long line hung');
    assert.deepEqual(lengths, [1_600 * 65_536 + 11, 15]);
  });

  test('records over the size limit get record-too-large instead of the full rule set', () => {
    const text = JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(10_000_000) }, { role: 'assistant', content: 'ok' }] });
    const result = validate(newValidator(), text, 'jsonl', '10 MB record');
    assert.deepEqual(
      result.findings.map((f) => f.code),
      ['record-too-large'],
    );
  });

  test('a file with invalid UTF-8 and multi-byte characters across read chunks validates the same from disk and in memory', async () => {
    const rng = new Prng(FUZZ_SEED + 2);
    const parts: Buffer[] = [];
    let size = 0;
    // Over 1 MB so the streaming reader's chunk boundaries fall inside records and characters.
    while (size < 3_000_000) {
      const rec = Buffer.from(JSON.stringify({ messages: [{ role: 'user', content: `caf\u00e9 \ud83d\ude00 ${rng.int(1e9)} ${'\u4e2d'.repeat(rng.int(200))}` }, { role: 'assistant', content: 'ok' }] }));
      const b = rng.int(10) === 0 ? Buffer.concat([rec.subarray(0, 20), Buffer.from([0xf0, 0x9f]), rec.subarray(20)]) : rec;
      parts.push(b, Buffer.from('\n'));
      size += b.length + 1;
    }
    const bytes = Buffer.concat(parts);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunekit-fuzz-'));
    try {
      const file = path.join(dir, 'mixed.jsonl');
      fs.writeFileSync(file, bytes);
      const fromDisk = await validateFile(file, { settings: DEFAULT_SETTINGS });
      const inMemory = validate(newValidator(), bytes.toString('utf8'), 'jsonl', 'mixed.jsonl');
      assert.deepEqual(comparable(fromDisk), comparable(inMemory));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_SETTINGS, type Settings } from '../../server/src/core/settings';
import { DatasetValidator, fileKindOf, type ValidationResult } from '../../server/src/core/validator';
import { collectDatasetFiles, datasetInfoFor } from '../../server/src/node/files';
import { validateFile } from '../../server/src/node/validateFile';
import { WorkerPool } from '../../server/src/node/workerPool';
import { llavaRecord, openaiRecord, rng } from '../helpers/generate';
import { CORPUS, FIXTURES, fixtureFiles, formatFinding, settingsFor } from '../helpers/fixtures';

/**
 * The worker-thread path of `validateFile` (what `tunekit validate` and big files in the editor
 * use) must give exactly what the single-threaded path gives: same findings (ranges, messages,
 * fixes, order, truncation), same summaries, same counts.
 */

let pool: WorkerPool;
before(() => {
  pool = new WorkerPool(2);
});
after(async () => {
  await pool.close();
});

async function bothWays(file: string, settings: Settings): Promise<{ single: ValidationResult; workers: ValidationResult }> {
  const single = await validateFile(file, { settings });
  // minWorkerBytes 0: even a fixture of a few lines goes through the workers; spillBytes 0: and
  // its summaries keep their extra facts on disk, as a big file's do.
  const workers = await validateFile(file, { settings, workers: pool, minWorkerBytes: 0 });
  const spilled = await validateFile(file, { settings, workers: pool, minWorkerBytes: 0, spillBytes: 0 });
  const spilledHere = await validateFile(file, { settings, spillBytes: 0 });
  assertSame(file, workers, spilled);
  assertSame(file, single, spilledHere);
  return { single, workers };
}

function assertSame(file: string, a: ValidationResult, b: ValidationResult): void {
  const name = path.basename(file);
  assert.deepStrictEqual(b.findings, a.findings, `${name}: findings differ between workers and one thread`);
  assert.deepStrictEqual([...b.summaries], [...a.summaries], `${name}: summaries differ`);
  assert.equal(b.records, a.records, `${name}: record count`);
  assert.equal(b.format, a.format, `${name}: format`);
  assert.equal(b.truncated, a.truncated, `${name}: truncation`);
  assert.deepStrictEqual(b.tally, a.tally, `${name}: tally`);
  assert.equal(b.errorRecords, a.errorRecords, `${name}: error records`);
}

describe('worker threads give the single-threaded answers', () => {
  for (const name of fixtureFiles()) {
    test(`fixture ${name}`, async () => {
      const file = path.join(FIXTURES, name);
      const { single, workers } = await bothWays(file, settingsFor(file));
      assertSame(file, single, workers);
    });
  }

  test('the real corpus', async (t) => {
    if (!fs.existsSync(CORPUS)) {
      if (process.env['CI'] === 'true') assert.fail(`${CORPUS} is missing`);
      t.skip(`${CORPUS} is not there`);
      return;
    }
    const { files } = collectDatasetFiles([CORPUS]);
    assert.ok(files.length > 5, 'the corpus has dataset files');
    for (const file of files) {
      const { single, workers } = await bothWays(file, DEFAULT_SETTINGS);
      assertSame(file, single, workers);
    }
  });
});

describe('worker threads on files of many chunks', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunekit-workers-'));
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Also checks the in-memory path (the editor's), which shares no reading code with the streaming one. */
  // media-not-found off: the in-memory path does not wait for media probes (the editor refreshes
  // when they finish), so missing images would show on one side only.
  const SETTINGS: Settings = { ...DEFAULT_SETTINGS, maxProblems: 100_000, rules: { 'media-not-found': 'off' } };

  async function check(file: string, settings: Settings = SETTINGS): Promise<ValidationResult> {
    const { single, workers } = await bothWays(file, settings);
    assertSame(file, single, workers);
    const raw = fs.readFileSync(file, 'utf8');
    const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
    const info = datasetInfoFor(file);
    const inMemory = new DatasetValidator({ settings, formatContext: { fileDir: path.dirname(file), ...(info ? { datasetInfo: info } : {}) } }).validateText(text, fileKindOf(file, text));
    assert.deepEqual(workers.findings.map(formatFinding), inMemory.findings.map(formatFinding), `${path.basename(file)}: in-memory path differs`);
    assert.equal(workers.records, inMemory.records);
    return workers;
  }

  test('JSON Lines: BOM, CRLF, blank lines, a line longer than a chunk, non-ASCII, broken lines', async () => {
    const r = rng(7);
    const lines: string[] = [];
    for (let i = 0; i < 6000; i++) {
      let line = JSON.stringify(i % 2 ? llavaRecord(i, r) : openaiRecord(i, r));
      if (i % 997 === 5) line = line.slice(0, 40); // broken JSON
      if (i % 13 === 0) line = line.replace('the', 'thé 日本語 😀'); // BMP, CJK and a surrogate pair
      lines.push(line);
      if (i % 501 === 0) lines.push('', '   ');
    }
    // One record of 2.5 MB: longer than the 1 MiB read chunk.
    lines.splice(3000, 0, JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(2_500_000) }, { role: 'assistant', content: 'ok' }] }));
    const file = path.join(dir, 'mixed.jsonl');
    fs.writeFileSync(file, '\ufeff' + lines.join('\r\n') + '\r\n');
    assert.ok(fs.statSync(file).size > 8 * (1 << 20), 'spans several chunks');
    const result = await check(file);
    assert.equal(result.records, 6001);
    assert.ok(result.findings.some((f) => f.code === 'invalid-json'));
  });

  test('JSON Lines without a final line break, and invalid UTF-8', async () => {
    const r = rng(8);
    const parts: Buffer[] = [];
    for (let i = 0; i < 3000; i++) {
      parts.push(Buffer.from(JSON.stringify(llavaRecord(i, r)) + '\n'));
      if (i === 1500) parts.push(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x0a])); // {"a":"\xff\xfe"}
    }
    parts.push(Buffer.from(JSON.stringify(llavaRecord(9999, r))));
    const file = path.join(dir, 'tail.jsonl');
    fs.writeFileSync(file, Buffer.concat(parts));
    const result = await check(file);
    assert.equal(result.records, 3002);
  });

  test('JSON arrays: pretty-printed, single-line, with empty elements and trailing text', async () => {
    const r = rng(9);
    const records = Array.from({ length: 4000 }, (_, i) => (i % 3 ? llavaRecord(i, r) : openaiRecord(i, r)));
    const pretty = path.join(dir, 'pretty_train.json');
    fs.writeFileSync(pretty, JSON.stringify(records, null, 2));
    await check(pretty);
    const oneLine = path.join(dir, 'oneline_train.json');
    const text = JSON.stringify(records);
    fs.writeFileSync(oneLine, text.slice(0, 500_000) + ',,' + text.slice(500_000) + ' trailing');
    const result = await check(oneLine);
    assert.ok(result.findings.some((f) => f.record === -1), 'array problems are reported');
  });

  test('maxProblems cuts the same findings either way', async () => {
    const r = rng(10);
    const lines = Array.from({ length: 5000 }, (_, i) => JSON.stringify(llavaRecord(i * 200 + 17, r))); // every record starts with the assistant
    const file = path.join(dir, 'many.jsonl');
    fs.writeFileSync(file, lines.join('\n'));
    const result = await check(file, { ...SETTINGS, maxProblems: 50 });
    assert.equal(result.truncated, true);
    assert.equal(result.findings.length, 50);
  });

  test('a cancelled validation stops with an error and the pool keeps working', async () => {
    const r = rng(11);
    const file = path.join(dir, 'cancel.jsonl');
    fs.writeFileSync(file, Array.from({ length: 6000 }, (_, i) => JSON.stringify(llavaRecord(i, r))).join('\n'));
    const abort = new AbortController();
    await assert.rejects(
      validateFile(file, {
        settings: DEFAULT_SETTINGS,
        workers: pool,
        signal: abort.signal,
        onProgress: (done) => {
          if (done > 0) abort.abort();
        },
      }),
      /cancelled/,
    );
    const after = await validateFile(file, { settings: DEFAULT_SETTINGS, workers: pool });
    assert.equal(after.records, 6000);
  });
});

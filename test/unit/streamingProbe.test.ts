import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseSettings, type Settings } from '../../server/src/core/settings';
import type { ValidationResult } from '../../server/src/core/validator';
import { NodeMediaProbe, StreamingMediaProbe } from '../../server/src/node/mediaProbe';
import { validateFile } from '../../server/src/node/validateFile';
import { WorkerPool } from '../../server/src/node/workerPool';
import { writePng } from '../helpers/images';

/**
 * Streaming validation (`tunekit validate`, big files in the editor) must not keep an answer per
 * image of the file: its media probe holds a small shared cache plus what the batches in flight
 * need, and still answers exactly what the editor's probe (which keeps every answer) answers.
 */

function settings(raw: Record<string, unknown> = {}): Settings {
  const { settings: s, problems } = parseSettings(raw);
  assert.deepEqual(problems, []);
  return s;
}

/** validateFile analyses JSON array records in batches of at most this many (validateFile.ts). */
const BATCH_RECORDS = 2048;
const RECORDS = 3 * BATCH_RECORDS + 500;
/** A LocalExecutor keeps two batches in flight (parallelism 1 × 2). */
const BATCHES_IN_FLIGHT = 2;
const REFS_PER_RECORD = 2;

let dir: string;
let arrayFile: string;
let jsonlFile: string;

/**
 * Records naming distinct missing images, a few real ones named over and over (so the small cache
 * evicts answers that later batches need again), an empty file, a folder and a truncated PNG.
 */
function record(i: number): Record<string, unknown> {
  const images = [`img/missing-${i}.png`];
  if (i % 3 === 0) images.push(`img/ok-${i % 40}.png`);
  else if (i % 97 === 5) images.push('img/empty.png');
  else if (i % 101 === 7) images.push('img/folder.png');
  else if (i % 103 === 9) images.push('img/broken.png');
  const text = '<image>'.repeat(images.length) + `Describe picture ${i}.`;
  return { messages: [{ role: 'user', content: text }, { role: 'assistant', content: `It shows item ${i}.` }], images };
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunekit-streaming-probe-'));
  for (let k = 0; k < 40; k++) writePng(path.join(dir, 'img', `ok-${k}.png`), 8 + k, 4 + k);
  fs.writeFileSync(path.join(dir, 'img', 'empty.png'), '');
  fs.mkdirSync(path.join(dir, 'img', 'folder.png'));
  fs.writeFileSync(path.join(dir, 'img', 'broken.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]));
  const records = Array.from({ length: RECORDS }, (_, i) => JSON.stringify(record(i)));
  arrayFile = path.join(dir, 'train.json');
  fs.writeFileSync(arrayFile, '[\n' + records.join(',\n') + '\n]\n');
  jsonlFile = path.join(dir, 'train.jsonl');
  fs.writeFileSync(jsonlFile, records.join('\n') + '\n');
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

function assertSameResult(a: ValidationResult, b: ValidationResult, what: string): void {
  assert.deepStrictEqual(b.findings, a.findings, `${what}: findings`);
  assert.deepStrictEqual([...b.summaries], [...a.summaries], `${what}: summaries`);
  assert.equal(b.records, a.records, `${what}: records`);
  assert.equal(b.truncated, a.truncated, `${what}: truncation`);
}

describe('the streaming media probe', () => {
  // Every finding counts: no cut at the default 1,000 problems.
  const all = settings({ maxProblems: 100_000 });

  for (const [name, file] of [
    ['JSON array', () => arrayFile],
    ['JSON Lines', () => jsonlFile],
  ] as const) {
    test(`${name}: bounded cache and queue, the unbounded probe's findings`, async () => {
      const reference = await validateFile(file(), { settings: all, services: { mediaProbe: new NodeMediaProbe() } });
      const notFound = reference.findings.filter((f) => f.code === 'media-not-found');
      assert.equal(notFound.length, RECORDS, 'every distinct missing image is reported');
      assert.ok(reference.findings.some((f) => f.code !== 'media-not-found'), 'the empty, folder and broken files are reported too');

      const maxEntries = 64;
      const probe = new StreamingMediaProbe({ maxEntries, concurrency: 4 });
      const bounded = await validateFile(file(), { settings: all, services: { mediaProbe: probe } });
      assertSameResult(reference, bounded, name);

      assert.ok(probe.stats.peakCached <= maxEntries, `cache peaked at ${probe.stats.peakCached} answers (bound ${maxEntries})`);
      assert.ok(probe.cachedEntries <= maxEntries);
      // Each reference of a record in flight has at most one probe waiting: the queue follows the
      // batches in flight, never the file (RECORDS × candidates probes were made in all).
      const queueBound = BATCHES_IN_FLIGHT * BATCH_RECORDS * REFS_PER_RECORD;
      assert.ok(probe.stats.peakQueued <= queueBound, `queue peaked at ${probe.stats.peakQueued} probes (bound ${queueBound})`);
      assert.ok(probe.stats.peakInflight <= queueBound + 4, `in flight peaked at ${probe.stats.peakInflight}`);
      assert.ok(probe.stats.probes > 2 * queueBound, `the file needed more probes (${probe.stats.probes}) than the queue ever held`);
    });
  }

  test('no shared cache at all (maxEntries 0) still gives the same findings', async () => {
    const reference = await validateFile(arrayFile, { settings: all, services: { mediaProbe: new NodeMediaProbe() } });
    const probe = new StreamingMediaProbe({ maxEntries: 0 });
    const bounded = await validateFile(arrayFile, { settings: all, services: { mediaProbe: probe } });
    assertSameResult(reference, bounded, 'maxEntries 0');
    assert.equal(probe.cachedEntries, 0);
  });

  test('worker threads use it by default and agree with the unbounded probe on this thread', async (t) => {
    const pool = new WorkerPool(2);
    t.after(() => pool.close());
    const reference = await validateFile(arrayFile, { settings: all, services: { mediaProbe: new NodeMediaProbe() } });
    const workers = await validateFile(arrayFile, { settings: all, workers: pool, minWorkerBytes: 0, serviceOptions: { mediaProbe: { maxEntries: 16 } } });
    assertSameResult(reference, workers, 'workers');
    const spilled = await validateFile(jsonlFile, { settings: all, workers: pool, minWorkerBytes: 0, spillBytes: 0 });
    const spilledReference = await validateFile(jsonlFile, { settings: all, services: { mediaProbe: new NodeMediaProbe() }, spillBytes: 0 });
    assertSameResult(spilledReference, spilled, 'workers, spilled');
  });

  test('a big file releases the idle workers before its dataset pass; the next file gets fresh ones', async (t) => {
    const pool = new WorkerPool(2);
    t.after(() => pool.close());
    const reference = await validateFile(jsonlFile, { settings: all, services: { mediaProbe: new NodeMediaProbe() }, spillBytes: 0 });
    // spillBytes 0: treated as big (its extra facts go to disk), so the workers are let go after its last batch.
    const first = await validateFile(jsonlFile, { settings: all, workers: pool, minWorkerBytes: 0, spillBytes: 0 });
    assert.equal(pool.liveWorkers, 0, 'no worker is kept once the big file is read');
    const second = await validateFile(jsonlFile, { settings: all, workers: pool, minWorkerBytes: 0, spillBytes: 0 });
    assertSameResult(reference, first, 'first');
    assertSameResult(reference, second, 'after the release');
    // A small file keeps them: starting workers costs more than they hold.
    await validateFile(arrayFile, { settings: all, workers: pool, minWorkerBytes: 0 });
    assert.equal(pool.liveWorkers, 2);
  });

  test('a scope keeps every answer it asked for, however small the shared cache; closing drops them', async () => {
    const probe = new StreamingMediaProbe({ maxEntries: 1, concurrency: 2 });
    const files = Array.from({ length: 30 }, (_, k) => path.join(dir, 'img', k < 10 ? `ok-${k}.png` : `nowhere-${k}.png`));
    const scope = probe.scope();
    const other = probe.scope();
    scope.run(() => {
      for (const f of files) void probe.probeFirst([path.join(dir, 'first-try', path.basename(f)), f]);
    });
    other.run(() => void probe.probeFirst([files[3]!]));
    await scope.settled();
    scope.run(() => {
      files.forEach((f, k) => {
        const info = probe.peek(f);
        assert.equal(info?.status, k < 10 ? 'ok' : 'missing', path.basename(f));
        if (k < 10) assert.equal(info?.width, 8 + k);
        assert.equal(probe.peek(path.join(dir, 'first-try', path.basename(f)))?.status, 'missing', 'the candidates tried first are kept too');
      });
    });
    assert.ok(probe.cachedEntries <= 1, 'outside its scopes the probe keeps one answer');
    await other.settled();
    other.run(() => assert.equal(probe.peek(files[3]!)?.width, 11, 'another scope asking for the same file gets the answer too'));
    scope.close();
    scope.run(() => assert.equal(files.filter((f) => probe.peek(f) !== undefined).length <= 1, true, 'a closed scope keeps nothing'));
    other.close();
  });

  test('unscoped use settles like the editor probe', async () => {
    const probe = new StreamingMediaProbe({ maxEntries: 100, concurrency: 3 });
    const files = Array.from({ length: 20 }, (_, k) => path.join(dir, 'img', `ok-${k}.png`));
    for (const f of files) void probe.probe(f);
    void probe.probeFirst([path.join(dir, 'img', 'nope.png')]);
    await probe.settled();
    files.forEach((f, k) => assert.equal(probe.peek(f)?.height, 4 + k));
    assert.equal(probe.peek(path.join(dir, 'img', 'nope.png'))?.status, 'missing');
    assert.ok(probe.stats.peakQueued <= files.length);
  });
});

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { llavaRecord, openaiRecord, rng } from '../helpers/generate';
import { runCli } from '../helpers/cli';

/** `tunekit validate` on a file big enough for worker threads: same output with any --jobs, progress only on a terminal. */

let dir: string;
let file: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunekit-cli-workers-'));
  file = path.join(dir, 'train.jsonl');
  const r = rng(21);
  // ~3.5 MB: several 1 MiB chunks, so the workers get more than one batch each.
  fs.writeFileSync(file, Array.from({ length: 3200 }, (_, i) => JSON.stringify(i % 2 ? llavaRecord(i, r) : openaiRecord(i, r))).join('\n') + '\n');
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});


test('--jobs 1 (one thread) and --jobs 2 (worker threads) print the same diagnostics', async () => {
  const one = await runCli(['validate', '--json', '--max-problems', '100000', '--jobs', '1', file]);
  const two = await runCli(['validate', '--json', '--max-problems', '100000', '--jobs', '2', file]);
  assert.equal(two.code, one.code);
  assert.ok(one.stdout.split('\n').length > 20, 'the generated file has problems to compare');
  assert.equal(two.stdout, one.stdout);
});

test('progress goes to stderr on a terminal only', async () => {
  const piped = await runCli(['validate', '--jobs', '2', file]);
  assert.doesNotMatch(piped.stderr, /\r/);
  const tty = await runCli(['validate', '--jobs', '2', file], true);
  // Redrawn in place (carriage return, clear line), naming the file and how far it got, then cleared.
  assert.match(tty.stderr, /\r\x1b\[2K[^\r]*train\.jsonl: \d+% of 3\.\d MB/);
  assert.ok(tty.stderr.lastIndexOf('\r\x1b[2K') > tty.stderr.lastIndexOf('% of'), 'the progress line is cleared at the end');
  assert.equal(tty.stdout, piped.stdout);
});

test('--jobs must be a positive whole number', async () => {
  const { code, stderr } = await runCli(['validate', '--jobs', '0', file]);
  assert.equal(code, 2);
  assert.match(stderr, /--jobs must be a positive whole number/);
});

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { FIXTURES, ROOT } from '../helpers/fixtures';
import { runCli } from '../helpers/cli';


const KEYS = ['file', 'line', 'column', 'endLine', 'endColumn', 'severity', 'code', 'message'];

test('validate --json prints one JSON object per diagnostic and exits 1 on errors', async () => {
  const { code, stdout } = await runCli(['validate', '--json', path.join(FIXTURES, 'unicode-columns.jsonl')]);
  assert.equal(code, 1);
  const lines = stdout.trimEnd().split('\n');
  assert.equal(lines.length, 4);
  for (const line of lines) {
    const o = JSON.parse(line) as Record<string, unknown>;
    assert.deepEqual(Object.keys(o), KEYS);
  }
  // 1-based lines and UTF-16 columns: two emoji (4 code units) precede "asistant" on line 1.
  const first = JSON.parse(lines[0]!) as { line: number; column: number; code: string };
  assert.deepEqual([first.line, first.column, first.code], [1, 74, 'unknown-role']);
});

test('validate exits 0 when only warnings are found, and prints a summary for people', async () => {
  const { code, stdout } = await runCli(['validate', path.join(FIXTURES, 'duplicates.jsonl')]);
  assert.equal(code, 0);
  assert.match(stdout, /duplicate-sample/);
  assert.match(stdout, /2 problems \(0 errors, 2 warnings, 0 info\) in 1 file, 5 records/);
});

test('validate exits 2 on usage errors and on a missing file, naming it', async () => {
  assert.equal((await runCli(['validate'])).code, 2);
  assert.equal((await runCli(['validate', '--target', 'gpt9', 'x.jsonl'])).code, 2);
  assert.equal((await runCli(['frobnicate'])).code, 2);
  const missing = await runCli(['validate', path.join(os.tmpdir(), 'no-such-dataset.jsonl')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no-such-dataset\.jsonl: no such file/);
});

test('validate walks folders: .jsonl files and dataset .json files, not other JSON', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunekit-cli-'));
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.writeFileSync(path.join(dir, 'sub', 'a.jsonl'), '{"text": "x"}\n{"text": ""}\n');
  fs.writeFileSync(path.join(dir, 'b.json'), '[{"instruction": "q", "input": "", "output": ""}]');
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name": "not-a-dataset"}');
  fs.writeFileSync(path.join(dir, 'dataset_info.json'), '{"b": {"file_name": "b.json"}}');
  const { code, stdout } = await runCli(['validate', '--json', dir]);
  assert.equal(code, 1);
  const files = new Set(stdout.trimEnd().split('\n').map((l) => (JSON.parse(l) as { file: string }).file));
  assert.deepEqual([...files].map((f) => path.basename(f)).sort(), ['a.jsonl', 'b.json']);
  fs.rmSync(dir, { recursive: true });
});

test('flags map onto settings: --max-tokens, --rule, --format', async () => {
  const file = path.join(FIXTURES, 'too-long.jsonl');
  const base = await runCli(['validate', '--json', file]);
  assert.equal(base.stdout, '', 'the default limit is 4096 tokens');
  const limited = await runCli(['validate', '--json', '--max-tokens', '20', file]);
  assert.equal(limited.stdout.trimEnd().split('\n').length, 2);
  const off = await runCli(['validate', '--json', '--max-tokens', '20', '--rule', 'too-long=off', file]);
  assert.equal(off.stdout, '');
  const forced = await runCli(['validate', '--json', '--format', 'alpaca', file]);
  assert.ok(forced.stdout.includes('"missing-field"'));
});

test('npx tunekit: the bin entry runs the built CLI', (t) => {
  const bin = path.join(ROOT, 'bin', 'tunekit.js');
  if (!fs.existsSync(path.join(ROOT, 'server', 'out', 'cli.js'))) return t.skip('server/out/cli.js is not built (npm run build)');
  const r = spawnSync(process.execPath, [bin, 'validate', '--json', path.join(FIXTURES, 'format-text.jsonl')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '');
});

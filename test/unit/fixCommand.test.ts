import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { parseSettings } from '../../server/src/core/settings';
import { DatasetValidator } from '../../server/src/core/validator';
import { FIXTURES, ROOT } from '../helpers/fixtures';
import { runCli } from '../helpers/cli';


const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'tunekit-fix-'));

/**
 * A JSON Lines file mixing records with safe fixes, records with only unsafe ones, clean records,
 * a broken line, blank lines, CRLF line ends and a BOM: everything `fix` must carry over.
 */
function messyJsonl(): { text: string; lines: string[] } {
  const sources = ['leak-special-tokens.jsonl', 'leak-generation-prompt.jsonl', 'leak-ai-boilerplate.jsonl', 'leak-legit.jsonl'];
  const records = sources.flatMap((s) =>
    fs
      .readFileSync(path.join(FIXTURES, s), 'utf8')
      .split('\n')
      .filter((l) => l.trim()),
  );
  // A marker per record proves the order after fixing.
  const marked = records.map((r, i) => r.replace('"content": "', `"content": "[#${i}] `));
  const lines: string[] = [];
  marked.forEach((r, i) => {
    lines.push(r);
    if (i === 3) lines.push('');
    if (i === 5) lines.push('{"messages": [ broken json');
  });
  const text = '\ufeff' + lines.map((l, i) => (i % 7 === 0 ? `${l}\r` : l)).join('\n') + '\n';
  return { text, lines };
}

test('fix round-trips a JSON Lines file: no record lost or reordered, unfixed records byte-identical', async () => {
  const dir = tmp();
  const file = path.join(dir, 'train.jsonl');
  const { text } = messyJsonl();
  fs.writeFileSync(file, text);
  const res = await runCli(['fix', file]);
  assert.equal(res.code, 0, res.stderr);
  const outFile = path.join(dir, 'train.fixed.jsonl');
  assert.ok(fs.existsSync(outFile), 'writes <name>.fixed.jsonl by default');
  assert.equal(fs.readFileSync(file, 'utf8'), text, 'the input is left alone');
  assert.match(res.stdout, /applied \d+ fixes in \d+ of \d+ records/);
  const fixed = fs.readFileSync(outFile, 'utf8');
  assert.ok(fixed.startsWith('\ufeff'), 'the BOM is kept');

  const before = text.slice(1).split('\n');
  const after = fixed.slice(1).split('\n');
  assert.equal(after.length, before.length, 'same number of lines');
  // Which records the validator offers safe fixes for, found independently of the command.
  const findings = new DatasetValidator({ settings: parseSettings({}).settings }).validateText(text.slice(1), 'jsonl').findings;
  const fixable = new Set(findings.filter((f) => f.fixes?.some((x) => x.safe)).map((f) => f.range.start.line));
  assert.ok(fixable.size >= 15);
  const markers = (ls: string[]): string[] => ls.map((l) => /\[#\d+\]/.exec(l)?.[0] ?? (l.trim() ? 'other' : 'blank'));
  assert.deepEqual(markers(after), markers(before), 'records keep their order, blank and broken lines their place');
  before.forEach((line, i) => {
    if (fixable.has(i)) {
      assert.notEqual(after[i], line, `line ${i + 1} had a safe fix`);
      JSON.parse(after[i]!);
      assert.equal(after[i]!.endsWith('\r'), line.endsWith('\r'), `line ${i + 1}: its CR is kept`);
    } else assert.equal(after[i], line, `line ${i + 1} has no safe fix and must be byte-identical`);
  });
  // Nothing safe is left to fix; the unsafe findings remain for a person to judge.
  const again = new DatasetValidator({ settings: parseSettings({}).settings }).validateText(fixed.slice(1), 'jsonl').findings;
  assert.deepEqual(
    again.filter((f) => f.fixes?.some((x) => x.safe)).map((f) => `${f.range.start.line + 1} ${f.code}`),
    [],
  );
  assert.ok(again.some((f) => f.code === 'ai-boilerplate'), 'unsafe fixes are not applied');
});

test('fix keeps a pretty-printed JSON array intact apart from the fixed strings', async () => {
  const dir = tmp();
  const file = path.join(dir, 'data.json');
  const text = fs.readFileSync(path.join(FIXTURES, 'leak-array.json'), 'utf8');
  fs.writeFileSync(file, text);
  const out = path.join(dir, 'clean.json');
  const res = await runCli(['fix', '-o', out, file]);
  assert.equal(res.code, 0, res.stderr);
  const fixed = fs.readFileSync(out, 'utf8');
  const a = JSON.parse(text) as { conversations: { from: string; value: string }[] }[];
  const b = JSON.parse(fixed) as typeof a;
  assert.equal(b.length, a.length);
  assert.equal(fixed.split('\n').length, text.split('\n').length, 'layout kept');
  assert.equal(b[1]!.conversations[1]!.value, 'An apple is a fruit.', 'token removed');
  assert.equal(b[3]!.conversations[1]!.from, 'gpt', 'role renamed');
  // Repeated boilerplate is an unsafe fix: the shared prompt text stays.
  assert.equal(b[0]!.conversations[0]!.value, a[0]!.conversations[0]!.value);
  assert.equal(fixed, text.replace('<|im_end|>', '').replace('"bot"', '"gpt"'), 'nothing else changed');
});

test('--dry-run lists the fixes and writes nothing; --in-place rewrites the file itself', async () => {
  const dir = tmp();
  const file = path.join(dir, 'a.jsonl');
  const text = fs.readFileSync(path.join(FIXTURES, 'leak-special-tokens.jsonl'), 'utf8');
  fs.writeFileSync(file, text);
  const dry = await runCli(['fix', '--dry-run', file]);
  assert.equal(dry.code, 0);
  assert.match(dry.stdout, /would apply 21 fixes in 15 of 16 records/);
  assert.match(dry.stdout, /line 1: Remove "<\|im_end\|>"/);
  assert.deepEqual(fs.readdirSync(dir), ['a.jsonl']);
  assert.equal(fs.readFileSync(file, 'utf8'), text);

  const inPlace = await runCli(['fix', '--in-place', file]);
  assert.equal(inPlace.code, 0, inPlace.stderr);
  assert.deepEqual(fs.readdirSync(dir), ['a.jsonl'], 'no temporary file is left');
  const fixed = fs.readFileSync(file, 'utf8');
  assert.equal(fixed.split('\n').length, text.split('\n').length);
  assert.doesNotMatch(fixed, /<\|im_end\|>|<\|eot_id\|>/);
  const second = await runCli(['fix', '--dry-run', file]);
  assert.match(second.stdout, /nothing to fix safely \(16 records\)/);
});

test('fix usage errors exit 2', async () => {
  const file = path.join(FIXTURES, 'leak-legit.jsonl');
  assert.equal((await runCli(['fix'])).code, 2);
  assert.equal((await runCli(['fix', '--in-place', '-o', 'x.jsonl', file])).code, 2);
  assert.equal((await runCli(['fix', FIXTURES])).code, 2);
  const missing = await runCli(['fix', path.join(os.tmpdir(), 'no-such-file.jsonl')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no such file/);
});

test('bin/tunekit.js runs fix', () => {
  const dir = tmp();
  const file = path.join(dir, 'b.jsonl');
  fs.copyFileSync(path.join(FIXTURES, 'leak-kto.jsonl'), file);
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'tunekit.js'), 'fix', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /applied 2 fixes in 2 of 3 records/);
  assert.ok(fs.existsSync(path.join(dir, 'b.fixed.jsonl')));
});

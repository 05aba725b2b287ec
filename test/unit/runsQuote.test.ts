import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { envAssignment, quoteRemotePath, shellJoin, shellQuote, UnquotableError } from '../../server/src/runs/quote';
import { renderWords, raw } from '../../server/src/runs/shellWords';

/** Values an attacker (or an unlucky file name) could put in a config. */
export const HOSTILE = [
  '$(touch PWNED)',
  '`touch PWNED`',
  '; touch PWNED',
  'a && touch PWNED',
  'a | touch PWNED',
  "it's",
  "'; touch PWNED; echo '",
  '"; touch PWNED; echo "',
  'line1\ntouch PWNED',
  'tab\there',
  '${HOME}',
  '$HOME',
  '\\$(touch PWNED)',
  '* ? [a-z]',
  '~',
  '~/x',
  '-rf',
  '',
  ' leading and trailing ',
  '!!',
  '#comment',
  'ünïcödé 日本語 🙂',
  "''''",
  '\\',
  '>out <in 2>&1',
];

/** Runs `bash -c SCRIPT` in an empty temp dir; returns stdout and whether anything was created. */
function runBash(script: string): { stdout: string; created: string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunekit-quote-'));
  const r = spawnSync('bash', ['-c', script], { cwd: dir, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: '/home/someone' } });
  assert.equal(r.status, 0, r.stderr);
  const created = fs.readdirSync(dir);
  fs.rmSync(dir, { recursive: true, force: true });
  return { stdout: r.stdout, created };
}

for (const value of HOSTILE) {
  test(`shellQuote keeps ${JSON.stringify(value)} literal through bash`, () => {
    const { stdout, created } = runBash(`printf '%s' ${shellQuote(value)}`);
    assert.equal(stdout, value);
    assert.deepEqual(created, [], 'nothing may be executed');
  });
}

test('shellJoin: each argv entry arrives as exactly one argument', () => {
  const { stdout, created } = runBash(`printf '<%s>\\n' ${shellJoin(HOSTILE)}`);
  assert.equal(stdout, HOSTILE.map((v) => `<${v}>\n`).join(''));
  assert.deepEqual(created, []);
});

test('shellQuote leaves plain words readable and refuses NUL', () => {
  assert.equal(shellQuote('runs/abc-1.2/run.sh'), 'runs/abc-1.2/run.sh');
  assert.equal(shellQuote('--nproc_per_node=1'), '--nproc_per_node=1');
  assert.equal(shellQuote(''), "''");
  assert.throws(() => shellQuote('a\0b'), UnquotableError);
});

test('quoteRemotePath expands only a leading ~ to $HOME', () => {
  assert.equal(runBash(`printf '%s' ${quoteRemotePath('~/tunekit runs/$(touch PWNED)')}`).stdout, '/home/someone/tunekit runs/$(touch PWNED)');
  assert.equal(runBash(`printf '%s' ${quoteRemotePath('~')}`).stdout, '/home/someone');
  assert.equal(runBash(`printf '%s' ${quoteRemotePath('/abs/~/x;y')}`).stdout, '/abs/~/x;y');
  const r = runBash(`printf '%s' ${quoteRemotePath('~/`touch PWNED`')}`);
  assert.equal(r.stdout, '/home/someone/`touch PWNED`');
  assert.deepEqual(r.created, []);
});

test('envAssignment exports the exact value and refuses names that are not identifiers', () => {
  for (const value of HOSTILE) {
    const { stdout, created } = runBash(`export ${envAssignment('TK_VALUE', value)}\nprintf '%s' "$TK_VALUE"`);
    assert.equal(stdout, value);
    assert.deepEqual(created, []);
  }
  assert.throws(() => envAssignment('A;touch PWNED', 'x'), UnquotableError);
  assert.throws(() => envAssignment('1A', 'x'), UnquotableError);
});

test('renderWords quotes values and passes only code-made raw fragments through', () => {
  const line = renderWords(['echo', raw('"$HOME"'), '$HOME', '; touch PWNED']);
  const { stdout, created } = runBash(line);
  assert.equal(stdout, '/home/someone $HOME ; touch PWNED\n');
  assert.deepEqual(created, []);
});

import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { descendants, waitFor } from './support/processes';
import type { ProblemRow } from './support/workbench';
import { missingPrerequisite, ROOT, startSession, type E2eSession } from './support/session';

/**
 * Tunekit as a user meets it: the packaged .vsix installed into a real VS Code workbench
 * (code-server 4.100.3 = VS Code 1.100) driven in Debian's Chromium by playwright-core.
 * `npm run test:e2e` only; never part of `npm test`.
 */

interface CliFinding {
  line: number;
  column: number;
  severity: string;
  code: string;
  message: string;
}

/** What `tunekit validate` says about a sample: the editor must show the same. */
function cliFindings(relativePath: string): CliFinding[] {
  let out: string;
  try {
    out = execFileSync(process.execPath, [path.join(ROOT, 'bin', 'tunekit.js'), 'validate', '--json', path.join(ROOT, 'samples', relativePath)], { encoding: 'utf8' });
  } catch (err) {
    // Exit status 1 means "errors found", which is what a broken sample is for.
    out = (err as { stdout?: string }).stdout ?? '';
  }
  return out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as CliFinding);
}

describe('e2e: Tunekit in a real VS Code workbench (code-server + Chromium)', () => {
  let session: E2eSession | undefined;
  let unavailable: string | undefined;

  before(
    async () => {
      unavailable = missingPrerequisite();
      if (unavailable) {
        if (process.env.CI === 'true') throw new Error(`e2e prerequisites missing on CI: ${unavailable}`);
        return;
      }
      session = await startSession();
    },
    { timeout: 20 * 60_000 },
  );

  after(async () => {
    await session?.close();
  });

  function need(t: TestContext): E2eSession | undefined {
    if (!session) t.skip(unavailable ?? 'the e2e session did not start');
    return session;
  }

  test('a broken dataset shows the same problems in the Problems panel as the CLI reports', { timeout: 180_000 }, async (t) => {
    const s = need(t);
    if (!s) return;
    const wb = s.workbench;
    const expected = cliFindings('openai/broken.jsonl');
    assert.ok(expected.some((f) => f.code === 'unknown-role') && expected.some((f) => f.code === 'invalid-json'), 'the sample lost its planted errors');
    await wb.openFile('openai/broken.jsonl');
    const key = (f: { line: number; column: number; severity: string; code: string }): string => `${f.line}:${f.column} ${f.severity} ${f.code}`;
    const want = expected.map(key).sort();
    const mine = (r: ProblemRow[]): ProblemRow[] => r.filter((x) => x.source === 'tunekit' && x.file === 'openai/broken.jsonl');
    const rows = await wb.problems((r) => mine(r).length >= want.length, `${want.length} Tunekit problems for broken.jsonl`);
    await wb.screenshot('problems.png');
    assert.deepEqual(
      mine(rows)
        .map(key)
        .sort(),
      want,
    );
  });

  test('the language server restarts after it is killed, and diagnostics come back', { timeout: 240_000 }, async (t) => {
    const s = need(t);
    if (!s) return;
    const wb = s.workbench;
    const serverPids = (): number[] =>
      descendants(s.codeServer.process.pid!)
        .filter((p) => p.cmdline.includes('tunekit') && p.cmdline.includes(path.join('server', 'out', 'server.js')))
        .map((p) => p.pid);
    await wb.openFile('openai/chat.jsonl');
    const [before] = await waitFor('the Tunekit language server process', 60_000, () => {
      const pids = serverPids();
      return pids.length === 1 ? pids : false;
    });
    process.kill(before!, 'SIGKILL');
    // vscode-languageclient restarts a crashed server (up to 4 times in 3 minutes).
    const [afterPid] = await waitFor('a restarted language server', 90_000, () => {
      const pids = serverPids();
      return pids.length === 1 && pids[0] !== before ? pids : false;
    });
    assert.notEqual(afterPid, before);
    // The new server validates: a freshly typed broken record shows up in the Problems panel.
    const lineCount = fs.readFileSync(path.join(s.workspace, 'openai', 'chat.jsonl'), 'utf8').split('\n').length;
    await wb.typeAtEnd('\n{"messages": [{"role": "user", "content": "Hi"}, {"role": "asistant", "content": "Hello"}]}');
    const rows = await wb.problems(
      (r) => r.some((x) => x.file === 'openai/chat.jsonl' && x.code === 'unknown-role'),
      'unknown-role in chat.jsonl after the restart',
    );
    assert.ok(rows.some((x) => x.file === 'openai/chat.jsonl' && x.code === 'unknown-role' && x.line >= lineCount));
    await wb.screenshot('restarted-server.png');
    assert.ok(rows.some((x) => x.code === 'unknown-role'));
  });
});

import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { descendants, waitFor } from './support/processes';
import { until, type ProblemRow } from './support/workbench';
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

const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { contributes?: { commands?: { command: string; title: string; category?: string }[] } };

/** The palette title of a contributed command, or undefined when the feature has not landed. */
function commandTitle(id: string): string | undefined {
  const c = manifest.contributes?.commands?.find((x) => x.command === id);
  return c ? `${c.category ? `${c.category}: ` : ''}${c.title}` : undefined;
}

/** True when the shipped server bundle announces an LSP capability (e.g. hoverProvider). */
function serverDeclares(capability: string): boolean {
  const bundle = path.join(ROOT, 'server', 'out', 'server.js');
  return fs.existsSync(bundle) && fs.readFileSync(bundle, 'utf8').includes(capability);
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
    assert.deepEqual(mine(rows).map(key).sort(), want);
  });

  /** The session, or a visible skip naming what is missing: an absent feature is never a pass. */
  function needFeature(t: TestContext, present: boolean, feature: string): E2eSession | undefined {
    const s = need(t);
    if (s && !present) {
      t.skip(`feature not implemented: ${feature}`);
      return undefined;
    }
    return s;
  }

  test('hovering an image path shows the image itself', { timeout: 180_000 }, async (t) => {
    const s = needFeature(t, serverDeclares('hoverProvider'), 'media hover (the server declares no hoverProvider)');
    if (!s) return;
    const wb = s.workbench;
    await wb.openFile('multimodal/broken.jsonl');
    const hover = wb.page.locator('.monaco-hover:not(.hidden)', { has: wb.page.locator('img') }).first();
    await wb.hoverUntil('../images/sunset.png', hover, 'a hover with an image over ../images/sunset.png');
    await wb.imagesRendered(hover, 'the hovered image to load');
    await wb.screenshot('hover.png');
    const size = await hover.locator('img').first().evaluate((img) => ({ w: (img as HTMLImageElement).naturalWidth, h: (img as HTMLImageElement).naturalHeight }));
    assert.ok(size.w > 0 && size.h > 0, `the hover image has no pixels: ${JSON.stringify(size)}`);
    await wb.page.keyboard.press('Escape');
  });

  test('the sample preview shows the record under the cursor with its image', { timeout: 180_000 }, async (t) => {
    const title = commandTitle('tunekit.previewSample');
    const s = needFeature(t, title !== undefined, 'sample preview (no tunekit.previewSample command)');
    if (!s || !title) return;
    const wb = s.workbench;
    await wb.openFile('multimodal/broken.jsonl');
    await wb.clickText('What time of day is it?');
    await wb.runCommand(title);
    const frame = await wb.webview('#chat', 'the sample preview webview');
    await frame.locator('#chat', { hasText: 'What time of day is it?' }).waitFor({ timeout: 60_000 });
    await wb.imagesRendered(frame.locator('#chat'), 'the image in the sample preview');
    await wb.screenshot('preview.png');
  });

  test('the image gallery shows the dataset images', { timeout: 180_000 }, async (t) => {
    const title = commandTitle('tunekit.openGallery');
    const s = needFeature(t, title !== undefined, 'image gallery (no tunekit.openGallery command)');
    if (!s || !title) return;
    const wb = s.workbench;
    await wb.openFile('multimodal/broken.jsonl');
    await wb.runCommand(title);
    const frame = await wb.webview('#grid', 'the gallery webview');
    // multimodal/broken.jsonl references three images that exist (and one that does not): every
    // tile that shows an image must have real pixels, and the existing images must be there.
    const tiles = frame.locator('#grid .gallery-tile');
    await until('the gallery tiles', async () => ((await tiles.count()) >= 4 ? true : false));
    const shown = await frame.locator('#grid img').count();
    assert.ok(shown >= 2, `only ${shown} gallery tiles show an image`);
    await wb.imagesRendered(frame.locator('#grid'), `all ${shown} gallery images`, shown);
    assert.ok((await frame.locator('#grid .gallery-tile', { hasText: 'media-not-found' }).count()) >= 1, 'the missing image is not flagged');
    await wb.screenshot('gallery.png');
  });

  test('the dataset report shows the file, its charts and its problems by code', { timeout: 180_000 }, async (t) => {
    const title = commandTitle('tunekit.showReport');
    const s = needFeature(t, title !== undefined, 'dataset report (no tunekit.showReport command)');
    if (!s || !title) return;
    const wb = s.workbench;
    const expected = [...new Set(cliFindings('qa/mcq.jsonl').map((f) => f.code))];
    assert.ok(expected.includes('answer-not-in-options'), 'the sample lost its planted error');
    await wb.openFile('qa/mcq.jsonl');
    await wb.runCommand(title);
    const frame = await wb.webview('#tunekit-report', 'the report webview');
    await frame.locator('h1', { hasText: 'Dataset report' }).waitFor({ timeout: 90_000 });
    // Every code the CLI finds is a row of the problems table.
    for (const code of expected) await frame.locator('table tr', { hasText: code }).first().waitFor({ timeout: 30_000 });
    await until('the report charts to draw', async () => ((await frame.locator('canvas').count()) > 0 ? true : false));
    await wb.screenshot('report.png');
  });

  test('a quick fix removes its diagnostic', { timeout: 180_000 }, async (t) => {
    const s = needFeature(t, serverDeclares('codeActionProvider'), 'quick fixes (the server declares no codeActionProvider)');
    if (!s) return;
    const wb = s.workbench;
    const inBroken = (r: ProblemRow[]): ProblemRow[] => r.filter((x) => x.file === 'openai/broken.jsonl');
    await wb.openFile('openai/broken.jsonl');
    await wb.problems((r) => inBroken(r).some((x) => x.code === 'unknown-role'), 'unknown-role before the fix');
    await wb.clickText('assistent');
    await wb.applyQuickFix('Rename role "assistent" to "assistant"');
    await wb.problems((r) => inBroken(r).length > 0 && !inBroken(r).some((x) => x.code === 'unknown-role'), 'unknown-role to disappear after the quick fix');
    await wb.editorLine('"role": "assistant", "content": "perro"').waitFor();
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
  });
});

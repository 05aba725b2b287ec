import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { missingComponent, startSshd, torchPython, type TestSshd } from '../helpers/sshd';
import { waitFor } from './support/processes';
import { missingPrerequisite, startSession, type E2eSession } from './support/session';

/**
 * The sample run config launched from the editor, as a user does it: open
 * samples/runs/smoke.tunekit.yaml in a real VS Code workbench (code-server + Chromium), click the
 * "Launch run" CodeLens, confirm, and wait for the notification with the real outcome; then
 * download the outputs from it. The run goes over ssh to a real sshd on 127.0.0.1 (throwaway
 * keys, started and stopped here by pid), whose config reaches the extension through the
 * `tunekit.runs.sshConfigFile` setting. `npm run test:e2e` only.
 */

describe('e2e: launching a run from the editor', () => {
  let session: E2eSession | undefined;
  let sshd: TestSshd | undefined;
  let unavailable: string | undefined;

  before(
    async () => {
      unavailable = missingPrerequisite() ?? missingComponent(['/usr/sbin/sshd', 'ssh', 'rsync']) ?? (torchPython() ? undefined : 'python3 with torch (Debian python3-torch) is not installed');
      if (unavailable) {
        if (process.env['CI'] === 'true') throw new Error(`e2e prerequisites missing on CI: ${unavailable}`);
        return;
      }
      const home = fs.mkdtempSync(path.join(os.tmpdir(), 'tunekit-e2e-home-'));
      sshd = await startSshd({ setEnv: { HOME: home } });
      session = await startSession({ workspaceSettings: { 'tunekit.runs.sshConfigFile': sshd.configFile } });
    },
    { timeout: 20 * 60_000 },
  );

  after(async () => {
    await session?.close();
    await sshd?.stop();
  });

  function need(t: TestContext): E2eSession | undefined {
    if (!session) t.skip(unavailable ?? 'the e2e session did not start');
    return session;
  }

  test('"Launch run" on samples/runs/smoke.tunekit.yaml: confirm, progress, completed notification, outputs downloaded', { timeout: 300_000 }, async (t) => {
    const s = need(t);
    if (!s) return;
    const wb = s.workbench;
    const page = wb.page;
    await wb.openFile('runs/smoke.tunekit.yaml');
    const lens = page.locator('.codelens-decoration a', { hasText: 'Launch run' }).first();
    await lens.waitFor({ timeout: 90_000 });
    await lens.click();
    // The confirmation names what runs where before anything starts.
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.filter({ hasText: 'Launch smoke on ssh 127.0.0.1: 1 node, CPU only?' }).waitFor({ timeout: 90_000 });
    await dialog.getByRole('button', { name: 'Launch', exact: true }).click();
    const toast = (text: string | RegExp) => page.locator('.notifications-toasts .notification-toast', { hasText: text }).first();
    // The "started" toast is transient (VS Code hides toasts after a while and shows at most a few),
    // so wait for it or for the completion toast that follows it; the completion is what must hold.
    const started = toast(/Run smoke-\d{8}-\d{6}-[0-9a-f]{4} started on ssh 127\.0\.0\.1/);
    const done = toast(/Run smoke completed \(exit code 0\) on ssh 127\.0\.0\.1: 1 node, CPU only after 30 steps/);
    try {
      await started.or(done).first().waitFor({ timeout: 180_000 });
      await done.waitFor({ timeout: 180_000 });
    } catch (err) {
      await wb.screenshot('run-failed.png');
      throw err;
    }
    await wb.screenshot('run-completed.png');
    await done.getByRole('button', { name: 'Download Outputs' }).click();
    await toast(/Downloaded 4 files of smoke/).waitFor({ timeout: 120_000 });
    const runsDir = path.join(s.workspace, '.tunekit', 'runs');
    const [record] = fs.readdirSync(runsDir).map((f) => JSON.parse(fs.readFileSync(path.join(runsDir, f), 'utf8')) as { id: string; state: string; exitCode: number; progress: { percentage: number } });
    assert.equal(record?.state, 'completed');
    assert.equal(record.exitCode, 0);
    assert.equal(record.progress.percentage, 100);
    const adapter = path.join(s.workspace, '.tunekit', 'outputs', 'smoke', record.id, 'adapter_model.bin');
    await waitFor('the downloaded adapter', 30_000, () => fs.existsSync(adapter));
    // The Runs view lists the run with its outcome.
    await page.locator('.activitybar .action-item a[aria-label^="Tunekit"]').first().click();
    await page.locator('.monaco-list-row', { hasText: 'completed · 100%' }).first().waitFor({ timeout: 60_000 });
    await wb.screenshot('runs-view.png');
  });
});

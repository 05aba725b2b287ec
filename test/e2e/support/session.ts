import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { codeServerCli, codeServerProblem, ensureCodeServer, installPrerequisiteProblem, makeProfile, startCodeServer, type ProfileDirs, type RunningCodeServer } from './codeServer';
import { descendants } from './processes';
import { CHROMIUM, launchBrowser, Workbench } from './workbench';

/** The repository root (tests run from out/test/e2e). */
export const ROOT = findRoot(__dirname);

function findRoot(dir: string): string {
  for (let d = dir; d !== path.dirname(d); d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'package.json')) && fs.existsSync(path.join(d, 'server'))) return d;
  }
  throw new Error('repository root not found');
}

/** Why this machine cannot run the e2e suite (a missing system component), or undefined. */
export function missingPrerequisite(): string | undefined {
  if (!fs.existsSync(CHROMIUM)) return `Chromium not found at ${CHROMIUM} (apt-get install -y chromium)`;
  // The install's build prerequisites matter only until code-server is in the cache.
  return codeServerProblem() === undefined ? undefined : installPrerequisiteProblem();
}

/** Settings for a quiet, deterministic workbench: no walkthroughs, trust prompts or auto-updates. */
const USER_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'update.mode': 'none',
  'files.autoSave': 'off',
  'editor.hover.delay': 200,
  'editor.minimap.enabled': false,
  // Long JSONL lines wrap, so every part of a record is on screen to hover or click.
  'editor.wordWrap': 'on',
  // Scenarios type JSON: what they type must land as typed.
  'editor.autoClosingBrackets': 'never',
  'editor.autoClosingQuotes': 'never',
  'editor.autoSurround': 'never',
  'editor.formatOnType': false,
  'editor.acceptSuggestionOnEnter': 'off',
  'editor.quickSuggestions': { other: false, comments: false, strings: false },
  'chat.commandCenter.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
};

export interface E2eSession {
  codeServer: RunningCodeServer;
  browser: Browser;
  workbench: Workbench;
  workspace: string;
  profile: ProfileDirs;
  close: () => Promise<void>;
}

const log = (line: string): void => {
  process.stderr.write(`[e2e] ${line}\n`);
};

/** Packages the extension as a .vsix exactly as a release would (`vsce package`, bundles only). */
export function packageExtension(outDir: string): string {
  const vsix = path.join(outDir, 'tunekit.vsix');
  // A build running beside this one (another terminal, a watcher) can rewrite a bundle while vsce
  // zips it ("file data stream has unexpected number of bytes"); packaging again then succeeds.
  for (let attempt = 1; ; attempt++) {
    log('packaging the extension with vsce');
    try {
      execFileSync(process.execPath, [require.resolve('@vscode/vsce/vsce'), 'package', '--no-dependencies', '--no-rewrite-relative-links', '--out', vsix], {
        cwd: ROOT,
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, npm_config_yes: 'true' },
      });
      return vsix;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

/**
 * Everything a scenario needs: code-server installed (cached), the extension packaged and
 * installed into a throwaway profile, a copy of samples/ opened as the workspace, and Chromium
 * showing it. `close` stops every process it started.
 */
export async function startSession(options: { workspaceSettings?: Record<string, unknown> } = {}): Promise<E2eSession> {
  ensureCodeServer(log);
  const cleanups: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => log(`cleanup failed: ${String(err)}`));
  };
  const profile = makeProfile(USER_SETTINGS);
  cleanups.push(() => Promise.resolve(fs.rmSync(profile.root, { recursive: true, force: true })));
  try {
    const vsix = packageExtension(profile.root);
    log(codeServerCli(['--install-extension', vsix], profile).trim());
    // A copy, so scenarios that edit files or record runs never touch the repository's samples.
    const workspace = path.join(profile.root, 'samples');
    // Local run state (.tunekit/) of the repository's samples is not part of the scenario.
    fs.cpSync(path.join(ROOT, 'samples'), workspace, { recursive: true, filter: (src) => path.basename(src) !== '.tunekit' });
    if (options.workspaceSettings) {
      // Written before the workbench opens: a settings file that appears later is picked up by a
      // file watcher, too late for a scenario that acts at once.
      fs.mkdirSync(path.join(workspace, '.vscode'), { recursive: true });
      fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify(options.workspaceSettings, null, 2));
    }
    const codeServer = await startCodeServer(profile, workspace, log);
    cleanups.push(codeServer.stop);
    const browser = await launchBrowser();
    // Playwright's Browser does not expose its process: note Chromium's pids now to be sure they end.
    const chromiumPids = descendants(process.pid)
      .filter((p) => p.cmdline.includes('chrom'))
      .map((p) => p.pid);
    cleanups.push(async () => {
      await browser.close().catch(() => undefined);
      // Normally all gone after close(); a pid still there is killed only if it is still Chromium.
      for (const pid of chromiumPids) {
        try {
          if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('chrom')) process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    });
    const workbench = await Workbench.open(browser, codeServer.url, workspace);
    return { codeServer, browser, workbench, workspace, profile, close };
  } catch (err) {
    await close();
    throw err;
  }
}

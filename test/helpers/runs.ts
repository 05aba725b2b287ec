import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseSettings, type Settings } from '../../server/src/core/settings';
import { ROOT } from './fixtures';

/** A temporary project for run tests: a config file, datasets, and `.tunekit/` under one folder. */
export interface RunProject {
  root: string;
  configPath: string;
}

export const SAMPLE_TRAIN = path.join(ROOT, 'samples', 'runs', 'data', 'train.jsonl');

export function makeProject(configYaml: string, files: Record<string, string | Buffer> = {}): RunProject {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tunekit-run-'));
  fs.mkdirSync(path.join(root, '.tunekit'));
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), content);
  }
  const configPath = path.join(root, 'run.tunekit.yaml');
  fs.writeFileSync(configPath, configYaml);
  return { root, configPath };
}

export function runSettings(runs: Partial<Settings['runs']> = {}, extra: Record<string, unknown> = {}): Settings {
  const { settings, problems } = parseSettings({ ...extra, runs: { allowWarnings: false, minRecords: 32, sshConfigFile: '', ...runs } });
  if (problems.length) throw new Error(problems.join('; '));
  return settings;
}

/** Polls `pred` until it is truthy or the deadline passes (no fixed sleeps). */
export async function waitUntil<T>(pred: () => T | Promise<T>, what: string, timeoutMs = 60_000, everyMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Every file under `dir`, relative, sorted. */
export function listFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(dir, p));
    else out.push(p);
  }
  return out.sort();
}

/** Whether any process's argv (from /proc) contains `needle`. */
export function anyArgvContains(needle: string): string | undefined {
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (argv.includes(needle)) return `${name}: ${argv.split('\0').join(' ')}`;
    } catch {
      // The process ended while we looked.
    }
  }
  return undefined;
}

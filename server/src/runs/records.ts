import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BackendKind, RecipeName, RunConfig } from './schema';

/**
 * Every launched run is recorded in `.tunekit/runs/<id>.json` under the project root. The record
 * says where the run lives (host, remote folder, pid / Slurm job / SkyPilot cluster and job), so a
 * restarted editor or another `tunekit run status` re-attaches instead of launching again. The
 * record is a cache of the remote truth: `status.json` on the remote side wins.
 */

export const RUN_STATES = ['preparing', 'syncing', 'queued', 'starting', 'running', 'cancelling', 'completed', 'failed', 'cancelled', 'lost'] as const;
export type RunState = (typeof RUN_STATES)[number];

export const FINAL_STATES: ReadonlySet<RunState> = new Set(['completed', 'failed', 'cancelled', 'lost']);
export const isFinal = (s: RunState): boolean => FINAL_STATES.has(s);

export interface Progress {
  currentStep: number;
  totalSteps: number;
  /** 0–100. */
  percentage: number;
  loss?: number;
  learningRate?: number;
  epoch?: number;
  /** As the trainer wrote them, e.g. "0:01:23". */
  elapsed?: string;
  remaining?: string;
}

export interface RunRecord {
  id: string;
  name: string;
  /** Absolute path of the run config. */
  configPath: string;
  recipe: RecipeName;
  backend: BackendKind;
  /** What runs where, for people: "ssh gpu-box: 1 node, 2 GPUs". */
  resources: string;
  /** ssh destination (ssh, slurm via a login node); undefined for a local Slurm login node and SkyPilot. */
  host?: string;
  /** Absolute remote working folder (holds data/, media/, runs/<id>/). */
  workdir?: string;
  /** `runs/<id>` relative to the working folder. */
  runDir: string;
  /** The trainer's progress file relative to the working folder. */
  progressFile: string;
  pid?: number;
  slurmJobId?: string;
  skypilot?: { cluster?: string; jobId?: string; managed: boolean };
  state: RunState;
  exitCode?: number | null;
  /** Why the state is what it is, when it is not obvious (e.g. "the Slurm job hit its time limit"). */
  detail?: string;
  createdAt: string;
  startedAt?: string;
  endedAt?: string;
  progress?: Progress;
  /** The run this one resumes, and from which checkpoint. */
  resumedFrom?: { runId: string; checkpoint: string };
  /** Local folder outputs were downloaded to. */
  downloadedTo?: string;
  /** Only for the poll request: the train.log offset to read from (never stored). */
  logOffset?: number;
  /** The process that launched the run, to tell an interrupted launch from one in progress. */
  launcher?: { pid: number; host: string };
  /** The config as launched (no secret values: those are never in a config), so a re-attach needs nothing else. */
  config?: RunConfig;
  /** Last time the remote side answered. */
  lastSeenAt?: string;
  /** The remote side did not answer the last poll (the run itself may be fine). */
  unreachable?: string;
}

/** A run id: the config name, a UTC timestamp and a random suffix (sortable, safe in paths). */
export function newRunId(name: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return `${name}-${stamp}-${crypto.randomBytes(2).toString('hex')}`;
}

export class RunStore {
  readonly dir: string;

  constructor(readonly root: string) {
    this.dir = path.join(root, '.tunekit', 'runs');
  }

  private file(id: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(id)) throw new Error(`"${id}" is not a run id.`);
    return path.join(this.dir, `${id}.json`);
  }

  save(run: RunRecord): void {
    fs.mkdirSync(this.dir, { recursive: true });
    const target = this.file(run.id);
    const tmp = `${target}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(run, null, 2) + '\n');
    fs.renameSync(tmp, target);
  }

  get(id: string): RunRecord | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.file(id), 'utf8')) as RunRecord;
    } catch {
      return undefined;
    }
  }

  /** All runs, newest first. */
  list(): RunRecord[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    const runs: RunRecord[] = [];
    for (const n of names) {
      if (!n.endsWith('.json')) continue;
      const r = this.get(n.slice(0, -5));
      if (r) runs.push(r);
    }
    return runs.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
  }

  /** Finds a run by id or unique id prefix, or the latest run of a config name. */
  find(ref: string): RunRecord | undefined {
    const exact = this.get(ref);
    if (exact) return exact;
    const all = this.list();
    const byPrefix = all.filter((r) => r.id.startsWith(ref));
    if (byPrefix.length === 1) return byPrefix[0];
    return all.find((r) => r.name === ref);
  }

  /** Runs of the same config that are not finished (launching again asks first). */
  activeFor(configPath: string): RunRecord[] {
    const abs = path.resolve(configPath);
    return this.list().filter((r) => r.configPath === abs && !isFinal(r.state));
  }
}

/** The project root for a config: the closest folder above it with `.tunekit/` or `.git/`, else its own folder. */
export function projectRootFor(configPath: string): string {
  const start = path.dirname(path.resolve(configPath));
  for (let dir = start; ; ) {
    if (fs.existsSync(path.join(dir, '.tunekit')) || fs.existsSync(path.join(dir, '.git'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return start;
    dir = up;
  }
}

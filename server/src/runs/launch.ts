import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Settings } from '../core/settings';
import { createBackend, type Backend, type PollResult } from './backends';
import { buildBundle, type Bundle } from './bundle';
import { preflight, readRunConfig, type PreflightReport } from './preflight';
import { isFinal, newRunId, RunStore, type RunRecord } from './records';
import type { ResumePlan } from './recipes';
import { describeResources, type RunConfig } from './schema';
import type { SshSettings } from './transport';

/**
 * The launch pipeline and run lifecycle, headless: the CLI (`tunekit run …`) and the editor call
 * the same methods. launch = pre-flight → bundle → prepare the remote folder → rsync → verify the
 * manifest remotely → start; then refresh/follow read the remote truth, cancel/download/relaunch
 * act on it, and every step is recorded in `.tunekit/runs/<id>.json`.
 */

export type LaunchPhase = 'preflight' | 'bundle' | 'prepare' | 'sync' | 'verify' | 'start' | 'started';

export interface RunServiceOptions {
  /** Project root: `.tunekit/` lives here. */
  root: string;
  settings: Settings;
  ssh?: SshSettings;
  /** Environment for local programs such as `sky` (tests put a stand-in on PATH). */
  env?: NodeJS.ProcessEnv;
  /** Looks a secret up (VS Code SecretStorage in the editor, the environment in the CLI). */
  getSecret?: (name: string) => Promise<string | undefined>;
  /** Seconds run.sh waits after TERM before KILLing the trainer's process group. */
  graceSeconds?: number;
}

export interface LaunchOptions {
  onPhase?: (phase: LaunchPhase, message: string) => void | Promise<void>;
  /** Asked when the config already has runs that have not finished; launching goes ahead only on true. */
  confirmActive?: (active: RunRecord[]) => boolean | Promise<boolean>;
  /** Set by relaunch. */
  resume?: { from: RunRecord; plan: ResumePlan };
}

export class LaunchRefusedError extends Error {
  constructor(
    message: string,
    readonly report?: PreflightReport,
    readonly active?: RunRecord[],
  ) {
    super(message);
  }
}

/** A stored run plus what the last refresh brought. */
export interface RunUpdate {
  run: RunRecord;
  /** New train.log text since `logFrom` (redacted). */
  logChunk?: string;
  /** Where the next refresh should continue the log. */
  logOffset?: number;
  /** The state changed with this refresh. */
  changed: boolean;
}

/** Replaces every secret value in `text` with `***`, so logs and errors never show one. */
export function redact(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const s of secrets) if (s.length >= 3) out = out.split(s).join('***');
  return out;
}

export class RunService {
  readonly store: RunStore;
  /** Secret values seen by this service, for redaction of everything it returns. */
  private readonly secretValues = new Set<string>();

  constructor(readonly opts: RunServiceOptions) {
    this.store = new RunStore(opts.root);
  }

  private backendFor(config: RunConfig): Backend {
    return createBackend(config, { ...(this.opts.ssh ? { ssh: this.opts.ssh } : {}), ...(this.opts.env ? { env: this.opts.env } : {}) });
  }

  private redact(text: string): string {
    return redact(text, this.secretValues);
  }

  private async secrets(names: readonly string[]): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const n of names) {
      const v = await this.opts.getSecret?.(n);
      if (v !== undefined && v !== '') {
        out[n] = v;
        this.secretValues.add(v);
      }
    }
    return out;
  }

  async preflight(configPath: string, extra: { skipSizeCheck?: boolean } = {}): Promise<PreflightReport> {
    const { config } = readRunConfig(configPath);
    const secrets = config ? await this.secrets(config.secrets) : {};
    return preflight(configPath, { settings: this.opts.settings, root: this.opts.root, availableSecrets: new Set(Object.keys(secrets)), ...extra });
  }

  async launch(configPath: string, opts: LaunchOptions = {}): Promise<RunRecord> {
    const abs = path.resolve(configPath);
    const phase = async (p: LaunchPhase, m: string): Promise<void> => {
      await opts.onPhase?.(p, m);
    };

    // A config with a run still going: refresh those runs first (they may have ended), then ask.
    const active: RunRecord[] = [];
    for (const r of this.store.activeFor(abs)) {
      const u = await this.refresh(r.id).catch(() => undefined);
      if (!u || !isFinal(u.run.state)) active.push(u?.run ?? r);
    }
    if (active.length && !(await opts.confirmActive?.(active))) {
      throw new LaunchRefusedError(`${path.basename(abs)} already has a run that has not finished (${active.map((r) => `${r.id}: ${r.state}`).join(', ')}); cancel it first or confirm launching another.`, undefined, active);
    }

    await phase('preflight', `Validating the datasets of ${path.basename(abs)}`);
    const report = await this.preflight(abs, { skipSizeCheck: !!opts.resume });
    if (!report.ok || !report.config) throw new LaunchRefusedError(`Launch refused: ${report.blockers.join(' ')}`, report);
    const config = report.config;
    const backend = this.backendFor(config);
    const runId = newRunId(config.name);
    const run: RunRecord = {
      id: runId,
      name: config.name,
      configPath: abs,
      recipe: config.recipe,
      backend: config.backend.type,
      resources: describeResources(config.backend),
      runDir: `runs/${runId}`,
      progressFile: '',
      state: 'preparing',
      createdAt: new Date().toISOString(),
      config,
    };
    if (backend.host) run.host = backend.host;
    run.launcher = { pid: process.pid, host: os.hostname() };
    if (opts.resume) run.resumedFrom = { runId: opts.resume.from.id, checkpoint: opts.resume.plan.checkpoint };
    this.store.save(run);
    try {
      await phase('bundle', `Writing the bundle for ${config.recipe}`);
      const bundle = await buildBundle({
        config,
        configPath: abs,
        root: this.opts.root,
        runId,
        settings: this.opts.settings,
        gpusPerNode: backend.gpusPerNode,
        hooks: backend.hooks(runId),
        ...(opts.resume ? { resume: opts.resume.plan } : {}),
        ...(this.opts.graceSeconds !== undefined ? { graceSeconds: this.opts.graceSeconds } : {}),
        onProgress: (m) => void opts.onPhase?.('bundle', m),
      });
      if (bundle.missingMedia.length) throw new LaunchRefusedError(`Launch refused: ${bundle.missingMedia.length} media file(s) the data references do not exist, e.g. ${bundle.missingMedia.slice(0, 3).join(', ')}.`, report);
      run.progressFile = bundle.plan.progressFile;
      await phase('prepare', `Preparing ${run.resources}`);
      run.workdir = await backend.prepare(config);
      run.state = 'syncing';
      this.store.save(run);
      await phase('sync', `Uploading ${bundle.files.length} files to ${backend.host ?? backend.kind}`);
      await backend.sync(bundle, run.workdir);
      await phase('verify', 'Checking the uploaded files against the manifest');
      const bad = await backend.verify(bundle, run.workdir);
      if (bad.length) {
        throw new Error(`The uploaded copy differs from the bundle (sha256 mismatch) for ${bad.slice(0, 5).join(', ')}${bad.length > 5 ? ` and ${bad.length - 5} more` : ''}; nothing was started. Launch again to re-upload, and check the remote disk if it happens again.`);
      }
      await phase('start', `Starting ${config.recipe} on ${run.resources}`);
      const secrets = await this.secrets(config.secrets);
      Object.assign(run, await this.startWith(backend, run, bundle, secrets));
      this.store.save(run);
      await phase('started', `Run ${run.id} started`);
      return run;
    } catch (e) {
      run.state = 'failed';
      run.exitCode = null;
      run.detail = this.redact(e instanceof Error ? e.message : String(e));
      run.endedAt = new Date().toISOString();
      this.store.save(run);
      if (e instanceof LaunchRefusedError) throw e;
      throw new Error(run.detail);
    }
  }

  private async startWith(backend: Backend, run: RunRecord, bundle: Bundle, secrets: Record<string, string>): Promise<Partial<RunRecord>> {
    return backend.start(run, bundle, secrets);
  }

  /**
   * Asks the remote side once and records the answer. `logFrom` is the byte offset of train.log
   * the caller has shown so far (each follower keeps its own); without it no log is transferred.
   * A failure to reach the remote side keeps the state and sets `unreachable`.
   */
  async refresh(id: string, opts: { logFrom?: number; force?: boolean } = {}): Promise<RunUpdate> {
    const run = this.mustGet(id);
    if ((run.state === 'preparing' || run.state === 'syncing') && launcherGone(run)) {
      run.state = 'lost';
      run.exitCode = null;
      run.detail = 'The launch was interrupted before the run started (Tunekit stopped while preparing or uploading); launch again.';
      run.endedAt = new Date().toISOString();
      this.store.save(run);
      return { run, changed: true };
    }
    const wantsLog = opts.logFrom !== undefined;
    if (isFinal(run.state) && !run.unreachable && !wantsLog && !opts.force) return { run, changed: false };
    if (!run.config || (!run.workdir && run.backend !== 'skypilot')) return { run, changed: false };
    // Know the run's secret values, so a trainer that prints one never shows it here.
    await this.secrets(run.config.secrets);
    const before = run.state;
    let result: PollResult;
    try {
      result = await this.backendFor(run.config).poll({ ...run, logOffset: opts.logFrom ?? Number.MAX_SAFE_INTEGER });
    } catch (e) {
      run.unreachable = this.redact(e instanceof Error ? e.message : String(e));
      this.store.save(run);
      return { run, changed: false, ...(wantsLog ? { logOffset: opts.logFrom } : {}) };
    }
    const update = this.apply(run, result, before);
    if (wantsLog) update.logOffset = result.logOffset === undefined || result.logOffset > Number.MAX_SAFE_INTEGER / 2 ? opts.logFrom : result.logOffset;
    return update;
  }

  private apply(run: RunRecord, result: PollResult, before: RunRecord['state']): RunUpdate {
    delete run.unreachable;
    run.lastSeenAt = new Date().toISOString();
    run.state = result.state;
    if (result.exitCode !== undefined) run.exitCode = result.exitCode;
    if (result.detail) run.detail = this.redact(result.detail);
    else if (!isFinal(result.state)) delete run.detail;
    if (result.progress) run.progress = result.progress;
    if (result.startedAt) run.startedAt = result.startedAt;
    if (result.endedAt) run.endedAt = result.endedAt;
    else if (isFinal(result.state) && !run.endedAt) run.endedAt = new Date().toISOString();
    this.store.save(run);
    const update: RunUpdate = { run, changed: before !== run.state };
    if (result.logChunk) update.logChunk = this.redact(result.logChunk);
    return update;
  }

  /** Refreshes until the run ends (or `signal` aborts), calling `onUpdate` after every refresh. */
  async follow(id: string, opts: { onUpdate?: (u: RunUpdate) => void; signal?: AbortSignal; intervalMs?: number; logFrom?: number } = {}): Promise<RunRecord> {
    const interval = opts.intervalMs ?? 2000;
    let logFrom = opts.logFrom;
    for (;;) {
      const u = await this.refresh(id, { ...(logFrom !== undefined ? { logFrom } : {}) });
      if (u.logOffset !== undefined) logFrom = u.logOffset;
      opts.onUpdate?.(u);
      if (isFinal(u.run.state) && !u.run.unreachable) {
        // The wrapper's last lines may still be on their way through tee: read the log once more.
        if (logFrom !== undefined) {
          const tail = await this.refresh(id, { logFrom });
          if (tail.logChunk) opts.onUpdate?.({ ...tail, changed: false });
        }
        return u.run;
      }
      if (opts.signal?.aborted) return u.run;
      await sleep(interval, opts.signal);
      if (opts.signal?.aborted) return this.mustGet(id);
    }
  }

  /** Cancels a run; cancelling a finished run changes nothing and reports its state. */
  async cancel(id: string): Promise<RunRecord> {
    const run = this.mustGet(id);
    if (!run.config || (isFinal(run.state) && !run.unreachable)) return run;
    if (run.state === 'preparing' || run.state === 'syncing' || (!run.workdir && run.backend !== 'skypilot')) {
      run.state = 'cancelled';
      run.endedAt = new Date().toISOString();
      this.store.save(run);
      return run;
    }
    const before = run.state;
    run.state = 'cancelling';
    this.store.save(run);
    const result = await this.backendFor(run.config).cancel(run);
    return this.apply(run, result, before).run;
  }

  /** Downloads the run's outputs (the adapter by default) and returns where they went. */
  async download(id: string, localDir?: string): Promise<{ dir: string; files: string[] }> {
    const run = this.mustGet(id);
    if (!run.config) throw new Error(`Run ${id} has no recorded config.`);
    const dir = localDir ?? (run.config.outputs.localDir ? path.resolve(path.dirname(run.configPath), run.config.outputs.localDir, run.id) : path.join(this.opts.root, '.tunekit', 'outputs', run.name, run.id));
    fs.mkdirSync(dir, { recursive: true });
    const files = await this.backendFor(run.config).download(run, dir, run.config.outputs.include);
    run.downloadedTo = dir;
    this.store.save(run);
    return { dir, files };
  }

  /** Launches the config again, resuming from the newest checkpoint of `id` when there is one. */
  async relaunch(id: string, opts: LaunchOptions = {}): Promise<RunRecord> {
    const old = this.mustGet(id);
    if (!isFinal(old.state)) throw new LaunchRefusedError(`Run ${old.id} is still ${old.state}; cancel it before relaunching.`);
    let resume: LaunchOptions['resume'];
    if (old.config && old.workdir) {
      const ckpt = await this.backendFor(old.config).latestCheckpoint(old).catch(() => undefined);
      if (ckpt) {
        const plan: ResumePlan = { checkpoint: ckpt.checkpoint };
        if (ckpt.stage) plan.stage = ckpt.stage;
        if (ckpt.stage1Output) plan.stage1Output = ckpt.stage1Output;
        resume = { from: old, plan };
      }
    }
    return this.launch(old.configPath, { ...opts, ...(resume ? { resume } : {}), confirmActive: opts.confirmActive ?? (() => false) });
  }

  terminalArgv(id: string): string[] {
    const run = this.mustGet(id);
    if (!run.config) throw new Error(`Run ${id} has no recorded config.`);
    return this.backendFor(run.config).terminalArgv(run);
  }

  list(): RunRecord[] {
    return this.store.list();
  }

  /** Runs to re-attach to after a restart. */
  unfinished(): RunRecord[] {
    return this.store.list().filter((r) => !isFinal(r.state) || r.unreachable);
  }

  get(id: string): RunRecord | undefined {
    return this.store.find(id);
  }

  private mustGet(id: string): RunRecord {
    const r = this.store.find(id);
    if (!r) throw new Error(`No run "${id}" in ${this.store.dir}.`);
    return r;
  }
}

/** Whether the process that was launching a run is gone (only knowable on the same machine). */
function launcherGone(run: RunRecord): boolean {
  if (!run.launcher || run.launcher.host !== os.hostname()) return false;
  if (run.launcher.pid === process.pid) return false;
  try {
    process.kill(run.launcher.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

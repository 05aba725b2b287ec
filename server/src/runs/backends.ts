import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify as yamlStringify } from 'yaml';
import type { BackendHooks, Bundle } from './bundle';
import { MANIFEST_NAME } from './bundle';
import { latestProgress, parseWrapperStatus, splitSections } from './progress';
import { envAssignment, quoteRemotePath, shellQuote } from './quote';
import type { RecipePlan, TrainStep } from './recipes';
import { isFinal, type Progress, type RunRecord, type RunState } from './records';
import { LOG_FILE, PID_FILE, PROGRESS_PREFIX, STATUS_FILE, TRAINER_PGID_FILE } from './runScript';
import type { BackendConfig, RunConfig, SkypilotBackendConfig, SlurmBackendConfig, SshBackendConfig } from './schema';
import { raw, type Word } from './shellWords';
import { CommandFailedError, LocalTransport, runProcess, SshTransport, type ProcessResult, type SshSettings, type Transport } from './transport';

/**
 * The three backends. ssh and Slurm share a remote working folder reached through a `Transport`
 * (rsync to sync, one small bash script per poll); SkyPilot is driven through the `sky` CLI and
 * syncs the bundle itself through `file_mounts`.
 */

export interface PollResult {
  state: RunState;
  exitCode?: number | null;
  detail?: string;
  progress?: Progress;
  /** New log text since the offset asked for. */
  logChunk?: string;
  /** Log offset after this chunk. */
  logOffset?: number;
  startedAt?: string;
  endedAt?: string;
}

export interface BackendEnv {
  ssh?: SshSettings;
  /** Environment for local programs (`sky`); defaults to this process's. */
  env?: NodeJS.ProcessEnv;
}

export interface Backend {
  readonly kind: BackendConfig['type'];
  readonly gpusPerNode: number;
  /** Where the run's folder lives, e.g. the ssh host; undefined for SkyPilot. */
  readonly host?: string;
  hooks(runId: string): BackendHooks;
  /** Creates the remote working folder and returns its absolute path. */
  prepare(config: RunConfig): Promise<string>;
  /** Copies the bundle (incrementally) to the working folder. */
  sync(bundle: Bundle, workdir: string): Promise<{ bytesSent?: number; output: string }>;
  /** Checks the bundle's manifest on the remote side; resolves with the files that differ (empty: all good). */
  verify(bundle: Bundle, workdir: string): Promise<string[]>;
  /** Starts the run; secrets travel on stdin or in the environment of the local program. */
  start(run: RunRecord, bundle: Bundle, secrets: Record<string, string>): Promise<Partial<RunRecord>>;
  poll(run: RunRecord): Promise<PollResult>;
  /** Idempotent: cancelling a finished run reports its final state and changes nothing. */
  cancel(run: RunRecord): Promise<PollResult>;
  /** Downloads the files of the run's output folder matching `include` into `localDir`; returns their relative paths. */
  download(run: RunRecord, localDir: string, include: string[]): Promise<string[]>;
  /** The newest checkpoint of a run (for relaunch with resume_from_checkpoint), relative to the working folder. */
  latestCheckpoint(run: RunRecord): Promise<{ checkpoint: string; stage?: 1 | 2; stage1Output?: string } | undefined>;
  /** argv for a terminal in the run's folder. */
  terminalArgv(run: RunRecord): string[];
}

export function createBackend(config: RunConfig, env: BackendEnv = {}): Backend {
  const b = config.backend;
  switch (b.type) {
    case 'ssh':
      return new SshBackend(b, env);
    case 'slurm':
      return new SlurmBackend(b, env);
    case 'skypilot':
      return new SkypilotBackend(b, config, env);
  }
}

function must(r: ProcessResult, what: string): ProcessResult {
  if (r.code !== 0) {
    const why = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ');
    throw new CommandFailedError(`${what} failed (exit ${r.code})${why ? `: ${why}` : ''}`, r);
  }
  return r;
}

function isoFromEpoch(s: number | undefined): string | undefined {
  return s === undefined ? undefined : new Date(s * 1000).toISOString();
}

// ---------------------------------------------------------------------------------------------
// Shared by ssh and Slurm: a working folder on a machine reached through a Transport.

abstract class FolderBackend implements Backend {
  abstract readonly kind: BackendConfig['type'];
  abstract readonly gpusPerNode: number;
  abstract hooks(runId: string): BackendHooks;
  abstract start(run: RunRecord, bundle: Bundle, secrets: Record<string, string>): Promise<Partial<RunRecord>>;

  constructor(
    protected readonly transport: Transport,
    protected readonly remoteDir: string,
    readonly host: string | undefined,
  ) {}

  async prepare(config: RunConfig): Promise<string> {
    const dir = `${this.remoteDir.replace(/\/+$/, '')}/${config.name}`;
    const r = must(await this.transport.exec(`set -e\nmkdir -p ${quoteRemotePath(dir)}\ncd ${quoteRemotePath(dir)}\npwd -P\n`, { timeoutMs: 60_000 }), `Creating ${dir} on ${this.transport.label}`);
    const abs = r.stdout.trim().split('\n').pop() ?? '';
    if (!abs.startsWith('/')) throw new CommandFailedError(`${this.transport.label} did not report the absolute path of ${dir}.`, r);
    return abs;
  }

  async sync(bundle: Bundle, workdir: string): Promise<{ output: string }> {
    // --delete keeps data/ and media/ identical to the bundle; earlier runs' folders are protected.
    const argv = this.transport.pushArgv(bundle.treeDir, workdir, ['--delete', '--filter=P /runs/*', '--stats']);
    const r = must(await runProcess(argv, { timeoutMs: 6 * 3600_000 }), `rsync to ${this.transport.label}`);
    return { output: r.stdout };
  }

  async verify(bundle: Bundle, workdir: string): Promise<string[]> {
    const script = [
      `cd ${shellQuote(workdir)} || exit 3`,
      'if command -v sha256sum >/dev/null 2>&1; then tk_sum() { sha256sum "$@"; }; else tk_sum() { shasum -a 256 "$@"; }; fi',
      `tk_sum -c ${shellQuote(bundle.manifest)} 2>&1 | grep -v ': OK$'`,
      'exit 0',
      '',
    ].join('\n');
    const r = must(await this.transport.exec(script, { timeoutMs: 3600_000 }), `Checking the manifest on ${this.transport.label}`);
    const bad: string[] = [];
    for (const line of r.stdout.split('\n')) {
      const m = /^(.*): FAILED/.exec(line);
      if (m) bad.push(m[1]!);
    }
    return bad;
  }

  /** Extra sections of the poll script (Slurm asks the scheduler). */
  protected pollExtra(_run: RunRecord): string[] {
    return [];
  }

  protected pollScript(run: RunRecord): string {
    const rd = shellQuote(run.runDir);
    const offset = Math.max(0, run.logOffset ?? 0);
    return [
      `cd ${shellQuote(run.workdir ?? '.')} 2>/dev/null || { echo '@@nodir'; exit 0; }`,
      'tk_alive() { [ -n "$1" ] || return 1; if command -v ps >/dev/null 2>&1; then s=$(ps -o stat= -p "$1" 2>/dev/null); [ -n "$s" ] && [ "${s#Z}" = "$s" ]; else kill -0 "$1" 2>/dev/null; fi; }',
      // Liveness first, then status.json: a wrapper that ends in between has written its outcome.
      'echo @@alive',
      `if tk_alive "$(cat ${rd}/${PID_FILE} 2>/dev/null)"; then echo yes; else echo no; fi`,
      'echo @@status',
      `cat ${rd}/${STATUS_FILE} 2>/dev/null`,
      'echo',
      'echo @@progress',
      `tail -n 5 ${shellQuote(run.progressFile)} 2>/dev/null`,
      'echo',
      ...this.pollExtra(run),
      'echo @@logsize',
      `wc -c < ${rd}/${LOG_FILE} 2>/dev/null || echo 0`,
      'echo @@log',
      `tail -c +${offset + 1} ${rd}/${LOG_FILE} 2>/dev/null | head -c 4000000`,
      '',
    ].join('\n');
  }

  async poll(run: RunRecord): Promise<PollResult> {
    const r = must(await this.transport.exec(this.pollScript(run), { timeoutMs: 60_000 }), `Asking ${this.transport.label} about run ${run.id}`);
    return this.interpret(run, splitSections(r.stdout));
  }

  protected interpret(run: RunRecord, s: Record<string, string>): PollResult {
    if ('nodir' in s) return { state: 'lost', exitCode: null, detail: `The run's folder ${run.workdir ?? ''} no longer exists on ${this.transport.label}.` };
    const status = parseWrapperStatus(s['status'] ?? '');
    const alive = (s['alive'] ?? '').trim() === 'yes';
    const out: PollResult = { state: 'starting' };
    const progress = latestProgress(s['progress'] ?? '');
    if (progress) out.progress = progress;
    const size = Number((s['logsize'] ?? '0').trim());
    const chunk = s['log'] ?? '';
    if (chunk) out.logChunk = chunk;
    out.logOffset = Number.isFinite(size) ? Math.max(size, (run.logOffset ?? 0) + Buffer.byteLength(chunk)) : (run.logOffset ?? 0) + Buffer.byteLength(chunk);
    if (status) {
      const started = isoFromEpoch(status.startedAt);
      if (started) out.startedAt = started;
      const ended = isoFromEpoch(status.endedAt);
      if (ended) out.endedAt = ended;
      if (isFinal(status.state)) {
        out.state = status.state;
        out.exitCode = status.exitCode;
        if (status.state === 'failed') out.detail = `The trainer exited with code ${status.exitCode ?? '?'}; see train.log.`;
      } else if (alive) out.state = status.state;
      else {
        out.state = 'lost';
        out.exitCode = null;
        out.detail = 'The run wrapper stopped without recording an outcome (the machine rebooted, or the process was killed with SIGKILL).';
      }
    } else out.state = alive ? 'starting' : 'lost';
    if (out.state === 'lost' && !out.detail) out.detail = 'The run never started: no status.json and no live process.';
    return out;
  }

  async cancel(run: RunRecord): Promise<PollResult> {
    const rd = shellQuote(run.runDir);
    const script = [
      `cd ${shellQuote(run.workdir ?? '.')} 2>/dev/null || exit 0`,
      `st=$(cat ${rd}/${STATUS_FILE} 2>/dev/null)`,
      'case "$st" in *\'"state":"completed"\'*|*\'"state":"failed"\'*|*\'"state":"cancelled"\'*) exit 0 ;; esac',
      `pid=$(cat ${rd}/${PID_FILE} 2>/dev/null)`,
      'tk_alive() { [ -n "$1" ] || return 1; if command -v ps >/dev/null 2>&1; then s=$(ps -o stat= -p "$1" 2>/dev/null); [ -n "$s" ] && [ "${s#Z}" = "$s" ]; else kill -0 "$1" 2>/dev/null; fi; }',
      '[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null',
      // run.sh stops the trainer's process group (TERM, then KILL) and records "cancelled".
      'for _ in $(seq 1 100); do tk_alive "$pid" || break; sleep 0.2; done',
      'if tk_alive "$pid"; then',
      `  tpg=$(cat ${rd}/${TRAINER_PGID_FILE} 2>/dev/null)`,
      '  [ -n "$tpg" ] && kill -KILL -- "-$tpg" 2>/dev/null',
      '  kill -KILL -- "-$pid" 2>/dev/null; kill -KILL "$pid" 2>/dev/null',
      'fi',
      `st=$(cat ${rd}/${STATUS_FILE} 2>/dev/null)`,
      'case "$st" in *\'"state":"completed"\'*|*\'"state":"failed"\'*|*\'"state":"cancelled"\'*) ;; *)',
      `  printf '{"state":"cancelled","exitCode":null,"pid":%s,"startedAt":null,"endedAt":%s}\\n' "\${pid:-null}" "$(date +%s)" > ${rd}/${STATUS_FILE} ;;`,
      'esac',
      '',
    ].join('\n');
    must(await this.transport.exec(script, { timeoutMs: 120_000 }), `Cancelling run ${run.id} on ${this.transport.label}`);
    return this.poll(run);
  }

  async download(run: RunRecord, localDir: string, include: string[]): Promise<string[]> {
    const filters = ['--prune-empty-dirs', '--include=*/', ...include.map((p) => `--include=${p}`), '--exclude=*', '--out-format=%n'];
    // Checkpoints are excluded unless a pattern names them: they are large and not the adapter.
    if (!include.some((p) => p.includes('checkpoint'))) filters.unshift('--exclude=checkpoint-*/');
    const remote = path.posix.join(run.workdir ?? '.', run.runDir, 'output');
    const r = must(await runProcess(this.transport.pullArgv(remote, localDir, filters), { timeoutMs: 6 * 3600_000 }), `Downloading outputs of ${run.id}`);
    return r.stdout.split('\n').map((l) => l.trim()).filter((l) => l && !l.endsWith('/'));
  }

  async latestCheckpoint(run: RunRecord): Promise<{ checkpoint: string; stage?: 1 | 2; stage1Output?: string } | undefined> {
    const out = `${run.runDir}/output`;
    const script = [
      `cd ${shellQuote(run.workdir ?? '.')} || exit 0`,
      `echo @@main; ls -d ${shellQuote(out)}/checkpoint-* 2>/dev/null | sort -V | tail -n 1`,
      `echo @@stage1; ls -d ${shellQuote(out)}/stage1/checkpoint-* 2>/dev/null | sort -V | tail -n 1`,
      `echo @@stage1done; if [ -f ${shellQuote(out)}/stage1/config.json ] || [ -f ${shellQuote(out)}/stage1/adapter_config.json ]; then echo yes; fi`,
      'exit 0',
      '',
    ].join('\n');
    const r = must(await this.transport.exec(script, { timeoutMs: 60_000 }), `Looking for checkpoints of ${run.id}`);
    const s = splitSections(r.stdout, 'stage1done');
    const main = (s['main'] ?? '').trim();
    const stage1 = (s['stage1'] ?? '').trim();
    const stage1Done = (s['stage1done'] ?? '').trim() === 'yes';
    if (main) return stage1Done ? { checkpoint: main, stage: 2, stage1Output: `${out}/stage1` } : { checkpoint: main };
    if (stage1) return { checkpoint: stage1, stage: 1 };
    return undefined;
  }

  terminalArgv(run: RunRecord): string[] {
    return this.transport.terminalArgv(path.posix.join(run.workdir ?? '.', run.runDir));
  }
}

/** The start script's common head: working folder, then secrets exported from the script itself (stdin, never argv). */
function startPreamble(workdir: string, secrets: Record<string, string>): string[] {
  const lines = [`cd ${shellQuote(workdir)} || exit 3`];
  for (const [k, v] of Object.entries(secrets)) lines.push(`export ${envAssignment(k, v)}`);
  return lines;
}

// ---------------------------------------------------------------------------------------------
// ssh

export class SshBackend extends FolderBackend {
  readonly kind = 'ssh' as const;
  readonly gpusPerNode: number;

  constructor(b: SshBackendConfig, env: BackendEnv) {
    super(new SshTransport(b.host, env.ssh), b.remoteDir, b.host);
    this.gpusPerNode = b.gpus;
  }

  hooks(): BackendHooks {
    const env: Record<string, string> = {};
    // GPUs 0..n-1 (none: CPU only); the self-launching trainers spread over what they see.
    env['CUDA_VISIBLE_DEVICES'] = Array.from({ length: this.gpusPerNode }, (_, i) => String(i)).join(',');
    return { wrapStep: (s: TrainStep) => s.argv, env };
  }

  async start(run: RunRecord, bundle: Bundle, secrets: Record<string, string>): Promise<Partial<RunRecord>> {
    const rd = shellQuote(bundle.runDir);
    const script = [
      ...startPreamble(run.workdir!, secrets),
      `[ -x ${rd}/run.sh ] || { echo "run.sh is missing or not executable" >&2; exit 4; }`,
      'if command -v setsid >/dev/null 2>&1; then tk_detach=setsid; else tk_detach=; fi',
      // Detached from this ssh session: a dropped connection does not stop the run.
      `$tk_detach nohup ${rd}/run.sh > /dev/null 2>&1 < /dev/null &`,
      `for _ in $(seq 1 100); do [ -s ${rd}/${PID_FILE} ] && break; sleep 0.1; done`,
      `cat ${rd}/${PID_FILE} 2>/dev/null || { echo "run.sh did not start" >&2; exit 5; }`,
      '',
    ].join('\n');
    const r = must(await this.transport.exec(script, { timeoutMs: 60_000 }), `Starting run ${run.id} on ${this.transport.label}`);
    const pid = Number(r.stdout.trim().split('\n').pop());
    return { pid: Number.isFinite(pid) ? pid : undefined, state: 'running', startedAt: new Date().toISOString() };
  }
}

/**
 * Worker stdout is teed to a per-rank file and to the console. Torch 1.13 on Python 3.11 (Debian
 * bookworm's python3-torch) fails on the default `--redirects 0`, and these values work everywhere.
 */
const TORCHRUN_STREAMS = ['--redirects=1', '--tee=1'];

// ---------------------------------------------------------------------------------------------
// Slurm

const SLURM_QUEUED = new Set(['PENDING', 'CONFIGURING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESV_DEL_HOLD', 'SUSPENDED', 'STOPPED']);
const SLURM_RUNNING = new Set(['RUNNING', 'COMPLETING', 'SIGNALING', 'STAGE_OUT', 'RESIZING']);

export class SlurmBackend extends FolderBackend {
  readonly kind = 'slurm' as const;
  readonly gpusPerNode: number;

  constructor(
    private readonly b: SlurmBackendConfig,
    env: BackendEnv,
  ) {
    super(b.host ? new SshTransport(b.host, env.ssh) : new LocalTransport(env.ssh), b.remoteDir, b.host);
    this.gpusPerNode = b.gpusPerNode;
  }

  hooks(): BackendHooks {
    const nproc = Math.max(1, this.b.gpusPerNode);
    return {
      prelude: [
        'TK_HEAD=$(scontrol show hostnames "${SLURM_JOB_NODELIST:-}" 2>/dev/null | head -n 1)',
        '[ -n "$TK_HEAD" ] || TK_HEAD=$(hostname)',
        'TK_PORT=$((29500 + ${SLURM_JOB_ID:-0} % 1000))',
      ],
      wrapStep: (s: TrainStep): Word[] => {
        const srun: Word[] = ['srun', '--ntasks-per-node=1', '--kill-on-bad-exit=1'];
        if (!s.torchrunEntry) return [...srun, ...s.argv];
        // One torchrun per node; they meet at the first node of the allocation (c10d rendezvous).
        // Underscore spellings: torch before 2.0 knows only those, later versions accept both.
        return [
          ...srun,
          raw('"$TK_PY"'),
          '-m',
          'torch.distributed.run',
          raw('--nnodes="$SLURM_NNODES"'),
          `--nproc_per_node=${nproc}`,
          ...TORCHRUN_STREAMS,
          raw('--rdzv_id="$SLURM_JOB_ID"'),
          '--rdzv_backend=c10d',
          raw('--rdzv_endpoint="$TK_HEAD:$TK_PORT"'),
          ...s.torchrunEntry,
        ];
      },
      extraFiles: ({ runDir }) => [{ path: `${runDir}/job.sh`, content: slurmJobScript(this.b, runDir, this.nameFor(runDir)), mode: 0o755 }],
    };
  }

  private nameFor(runDir: string): string {
    return `tunekit-${path.posix.basename(runDir)}`.slice(0, 120);
  }

  async start(run: RunRecord, bundle: Bundle, secrets: Record<string, string>): Promise<Partial<RunRecord>> {
    // sbatch hands the submitting environment (with the secrets) to the job (--export=ALL).
    const script = [...startPreamble(run.workdir!, secrets), `sbatch --parsable ${shellQuote(`${bundle.runDir}/job.sh`)}`, ''].join('\n');
    const r = must(await this.transport.exec(script, { timeoutMs: 120_000 }), `sbatch on ${this.transport.label}`);
    const jobId = /^(\d+)/.exec(r.stdout.trim().split('\n').pop() ?? '')?.[1];
    if (!jobId) throw new CommandFailedError(`sbatch did not print a job id: ${r.stdout.trim() || r.stderr.trim()}`, r);
    return { slurmJobId: jobId, state: 'queued' };
  }

  protected override pollExtra(run: RunRecord): string[] {
    const id = shellQuote(run.slurmJobId ?? '0');
    return [
      'echo @@squeue',
      `squeue -h -j ${id} -t all -o %T 2>/dev/null | head -n 1`,
      'echo @@scontrol',
      `scontrol show job -o ${id} 2>/dev/null | tr ' ' '\\n' | grep -E '^(JobState|ExitCode|Reason)='`,
      'echo @@sacct',
      `sacct -j ${id} -X -n -P --format=State,ExitCode 2>/dev/null | head -n 1`,
    ];
  }

  protected override interpret(run: RunRecord, s: Record<string, string>): PollResult {
    const base = super.interpret(run, s);
    const fields = Object.fromEntries((s['scontrol'] ?? '').split('\n').map((l) => l.split('=')).filter((kv) => kv.length >= 2).map(([k, ...v]) => [k!, v.join('=')]));
    const sacct = (s['sacct'] ?? '').trim().split('|');
    const slurmState = ((s['squeue'] ?? '').trim() || fields['JobState'] || sacct[0] || '').split(/\s/)[0]!.toUpperCase();
    const exitField = fields['ExitCode'] ?? sacct[1];
    const slurmExit = exitField ? Number(exitField.split(':')[0]) : undefined;
    if (isFinal(base.state) && base.state !== 'lost') return base;
    if (SLURM_QUEUED.has(slurmState)) return { ...base, state: 'queued', detail: fields['Reason'] && fields['Reason'] !== 'None' ? `Waiting in the queue: ${fields['Reason']}.` : 'Waiting in the Slurm queue.' };
    if (SLURM_RUNNING.has(slurmState)) return { ...base, state: base.state === 'cancelling' ? 'cancelling' : 'running' };
    if (slurmState === 'COMPLETED') return { ...base, state: 'completed', exitCode: slurmExit ?? 0, detail: undefined };
    if (slurmState.startsWith('CANCELLED')) return { ...base, state: 'cancelled', exitCode: slurmExit ?? null, detail: 'The Slurm job was cancelled.' };
    if (slurmState === 'TIMEOUT') return { ...base, state: 'failed', exitCode: slurmExit ?? null, detail: 'The Slurm job hit its time limit (timeLimit); relaunch to resume from the last checkpoint.' };
    if (slurmState === 'OUT_OF_MEMORY') return { ...base, state: 'failed', exitCode: slurmExit ?? null, detail: 'The Slurm job ran out of memory.' };
    if (slurmState === 'PREEMPTED' || slurmState === 'NODE_FAIL' || slurmState === 'BOOT_FAIL' || slurmState === 'DEADLINE' || slurmState === 'FAILED')
      return { ...base, state: 'failed', exitCode: slurmExit ?? null, detail: `The Slurm job ended in state ${slurmState}.` };
    // The scheduler has forgotten the job and run.sh never ran: it was dropped before starting.
    if (!slurmState && base.state === 'lost' && !parseWrapperStatus(s['status'] ?? '')) return { ...base, detail: `Slurm no longer knows job ${run.slurmJobId ?? '?'} and the run never started.` };
    return base;
  }

  override async cancel(run: RunRecord): Promise<PollResult> {
    const before = await this.poll(run);
    if (isFinal(before.state)) return before;
    must(await this.transport.exec(`scancel ${shellQuote(run.slurmJobId ?? '0')}\n`, { timeoutMs: 60_000 }), `scancel ${run.slurmJobId ?? ''}`);
    const deadline = Date.now() + 60_000;
    let last = before;
    while (Date.now() < deadline) {
      last = await this.poll(run);
      if (isFinal(last.state)) return last;
      await new Promise((r) => setTimeout(r, 500));
    }
    return last;
  }
}

/** The sbatch script: #SBATCH lines (values validated by the schema: sbatch, not a shell, reads them), then run.sh. */
export function slurmJobScript(b: SlurmBackendConfig, runDir: string, jobName: string): string {
  const lines = ['#!/bin/bash', `#SBATCH --job-name=${jobName}`, `#SBATCH --output=${runDir}/slurm-%j.out`, `#SBATCH --nodes=${b.nodes}`, '#SBATCH --ntasks-per-node=1'];
  if (b.gpusPerNode > 0) lines.push(`#SBATCH --gpus-per-node=${b.gpusPerNode}`);
  if (b.partition) lines.push(`#SBATCH --partition=${b.partition}`);
  if (b.timeLimit) lines.push(`#SBATCH --time=${b.timeLimit}`);
  if (b.account) lines.push(`#SBATCH --account=${b.account}`);
  if (b.cpusPerTask) lines.push(`#SBATCH --cpus-per-task=${b.cpusPerTask}`);
  lines.push('# Generated by Tunekit: run.sh records the outcome in status.json and tees train.log.', `exec bash ${shellQuote(`${runDir}/run.sh`)}`, '');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// SkyPilot

const SKY_RUNNING = new Set(['RUNNING', 'SETTING_UP', 'STARTING', 'RECOVERING']);
const SKY_QUEUED = new Set(['INIT', 'PENDING', 'SUBMITTED']);
const SKY_FAILED = new Set(['FAILED', 'FAILED_SETUP', 'FAILED_DRIVER', 'FAILED_PRECHECKS', 'FAILED_NO_RESOURCE', 'FAILED_CONTROLLER']);

export class SkypilotBackend implements Backend {
  readonly kind = 'skypilot' as const;
  readonly gpusPerNode: number;
  readonly host = undefined;
  readonly cluster: string;
  private readonly workdir: string;

  constructor(
    private readonly b: SkypilotBackendConfig,
    private readonly config: RunConfig,
    private readonly env: BackendEnv,
  ) {
    const count = /:(\d+)$/.exec(b.accelerators);
    this.gpusPerNode = count ? Number(count[1]) : 1;
    this.cluster = b.cluster ?? `tunekit-${config.name}`.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 63);
    this.workdir = `~/tunekit/${config.name}`;
  }

  private sky(args: string[], extraEnv: Record<string, string> = {}): Promise<ProcessResult> {
    return runProcess(['sky', ...args], { env: { ...(this.env.env ?? process.env), ...extraEnv }, timeoutMs: 30 * 60_000 });
  }

  hooks(): BackendHooks {
    return {
      prelude: ['TK_HEAD=$(printf "%s\\n" "${SKYPILOT_NODE_IPS:-127.0.0.1}" | head -n 1)'],
      wrapStep: (s: TrainStep): Word[] => {
        if (this.b.nodes <= 1 || !s.torchrunEntry) return s.argv;
        return [
          raw('"$TK_PY"'),
          '-m',
          'torch.distributed.run',
          raw('--nnodes="$SKYPILOT_NUM_NODES"'),
          raw('--node_rank="$SKYPILOT_NODE_RANK"'),
          raw('--nproc_per_node="$SKYPILOT_NUM_GPUS_PER_NODE"'),
          ...TORCHRUN_STREAMS,
          raw('--master_addr="$TK_HEAD"'),
          '--master_port=29500',
          ...s.torchrunEntry,
        ];
      },
      echoProgress: true,
      extraFiles: ({ runDir, plan, treeDir }) => [{ path: `${runDir}/task.yaml`, content: this.taskYaml(runDir, plan, treeDir) }],
    };
  }

  /** The SkyPilot task. `treeDir` is the local bundle folder that file_mounts uploads to every node. */
  taskYaml(runDir: string, _plan: RecipePlan, treeDir: string): string {
    const resources: Record<string, unknown> = { accelerators: this.b.accelerators };
    if (this.b.infra) resources['infra'] = this.b.infra;
    if (this.b.spot) resources['use_spot'] = true;
    if (!this.b.managed) resources['autostop'] = { idle_minutes: this.b.autostop, down: true };
    const secrets: Record<string, null> = {};
    for (const s of this.config.secrets) secrets[s] = null;
    const task: Record<string, unknown> = {
      name: this.config.name,
      num_nodes: this.b.nodes,
      resources,
      envs: { TUNEKIT_RUN_DIR_REL: runDir },
      ...(this.config.secrets.length ? { secrets } : {}),
      file_mounts: { [this.workdir]: treeDir },
      run: [
        'set -e',
        `cd ${quoteRemotePath(this.workdir)}`,
        // The uploaded bundle must match the manifest before anything starts.
        `sha256sum --quiet -c ${shellQuote(`${runDir}/${MANIFEST_NAME}`)} || { echo "tunekit: the uploaded bundle does not match its manifest; not starting" >&2; exit 96; }`,
        `exec bash ${shellQuote(`${runDir}/run.sh`)}`,
        '',
      ].join('\n'),
    };
    return `# SkyPilot task written by Tunekit for ${this.config.name}.\n${yamlStringify(task, { lineWidth: 0 })}`;
  }

  /** The argv of the launch command (golden-tested); secrets are named, their values come from the environment. */
  launchArgv(taskFile: string): string[] {
    const secretArgs = this.config.secrets.flatMap((s) => ['--secret', s]);
    if (this.b.managed) return ['jobs', 'launch', '-n', this.config.name, taskFile, '-d', '-y', ...secretArgs];
    return ['launch', '-c', this.cluster, taskFile, '-d', '-y', '-i', String(this.b.autostop), '--down', ...secretArgs];
  }

  prepare(): Promise<string> {
    return Promise.resolve(this.workdir);
  }

  sync(): Promise<{ output: string }> {
    // SkyPilot uploads the bundle itself (file_mounts) when the task launches.
    return Promise.resolve({ output: '' });
  }

  verify(): Promise<string[]> {
    // Checked by the task's run section on the remote side before run.sh starts.
    return Promise.resolve([]);
  }

  async start(_run: RunRecord, bundle: Bundle, secrets: Record<string, string>): Promise<Partial<RunRecord>> {
    const taskFile = path.join(bundle.treeDir, bundle.runDir, 'task.yaml');
    if (!fs.existsSync(taskFile)) throw new Error(`The bundle has no ${bundle.runDir}/task.yaml.`);
    const r = must(await this.sky(this.launchArgv(taskFile), secrets), this.b.managed ? 'sky jobs launch' : 'sky launch');
    const text = `${r.stdout}\n${r.stderr}`;
    const jobId = /(?:Job|job)[^\n]*?ID:\s*(\d+)/.exec(text)?.[1] ?? /ID:\s*(\d+)/.exec(text)?.[1];
    if (!jobId) throw new CommandFailedError('sky did not report a job id.', r);
    return { skypilot: { managed: this.b.managed, jobId, ...(this.b.managed ? {} : { cluster: this.cluster }) }, state: 'queued' };
  }

  private async queueState(run: RunRecord): Promise<{ status?: string; reachable: boolean }> {
    const sp = run.skypilot!;
    const args = sp.managed ? ['jobs', 'queue'] : ['queue', sp.cluster!];
    let r = await this.sky([...args, '-o', 'json']);
    let rows: { id: string; status: string }[] = [];
    if (r.code === 0) rows = parseSkyJson(r.stdout);
    if (r.code !== 0 || rows.length === 0) {
      r = await this.sky(args);
      if (r.code !== 0) return { reachable: false };
      rows = parseSkyTable(r.stdout);
    }
    return { status: rows.find((x) => x.id === sp.jobId)?.status, reachable: true };
  }

  async poll(run: RunRecord): Promise<PollResult> {
    const sp = run.skypilot!;
    const q = await this.queueState(run);
    if (!q.reachable) throw new CommandFailedError(`sky could not list the jobs of ${sp.managed ? 'the managed-jobs controller' : sp.cluster}.`);
    const logs = await this.sky(sp.managed ? ['jobs', 'logs', sp.jobId!, '--no-follow'] : ['logs', sp.cluster!, sp.jobId!, '--no-follow']);
    const text = logs.code === 0 ? logs.stdout : '';
    const offset = run.logOffset ?? 0;
    const out: PollResult = { state: 'queued', logOffset: Math.max(offset, Buffer.byteLength(text)) };
    const all = Buffer.from(text);
    if (all.length > offset) out.logChunk = all.subarray(offset).toString('utf8');
    const progress = latestProgress(text, PROGRESS_PREFIX);
    if (progress) out.progress = progress;
    const status = q.status?.toUpperCase();
    if (!status) return { ...out, state: 'lost', exitCode: null, detail: `SkyPilot no longer lists job ${sp.jobId ?? '?'}${sp.cluster ? ` on ${sp.cluster}` : ''} (the cluster may have been torn down).` };
    if (SKY_QUEUED.has(status)) return { ...out, state: 'queued', detail: `SkyPilot job is ${status}.` };
    if (SKY_RUNNING.has(status)) return { ...out, state: 'running' };
    if (status === 'CANCELLING') return { ...out, state: 'cancelling' };
    if (status === 'SUCCEEDED') return { ...out, state: 'completed', exitCode: 0 };
    if (status === 'CANCELLED') return { ...out, state: 'cancelled', exitCode: null };
    if (SKY_FAILED.has(status)) {
      const code = /tunekit: failed with exit code (\d+)/.exec(text)?.[1];
      return { ...out, state: 'failed', exitCode: code ? Number(code) : null, detail: `SkyPilot job ended in ${status}.` };
    }
    return { ...out, detail: `SkyPilot reports ${status}.` };
  }

  async cancel(run: RunRecord): Promise<PollResult> {
    const before = await this.poll(run);
    if (isFinal(before.state)) return before;
    const sp = run.skypilot!;
    must(await this.sky(sp.managed ? ['jobs', 'cancel', sp.jobId!, '-y'] : ['cancel', sp.cluster!, sp.jobId!, '-y']), 'sky cancel');
    return this.poll(run);
  }

  async download(run: RunRecord, localDir: string, include: string[]): Promise<string[]> {
    const sp = run.skypilot!;
    if (sp.managed || !sp.cluster) throw new Error('Managed SkyPilot jobs keep no cluster to download from; write outputs to a bucket (file_mounts) instead.');
    // SkyPilot adds every cluster to the ssh configuration, so rsync reaches it by name.
    const t = new SshTransport(sp.cluster, this.env.ssh);
    const filters = ['--prune-empty-dirs', '--exclude=checkpoint-*/', '--include=*/', ...include.map((p) => `--include=${p}`), '--exclude=*', '--out-format=%n'];
    const r = must(await runProcess(t.pullArgv(`tunekit/${this.config.name}/${run.runDir}/output`, localDir, filters), { timeoutMs: 6 * 3600_000 }), `Downloading outputs of ${run.id}`);
    return r.stdout.split('\n').map((l) => l.trim()).filter((l) => l && !l.endsWith('/'));
  }

  latestCheckpoint(): Promise<undefined> {
    return Promise.resolve(undefined);
  }

  terminalArgv(run: RunRecord): string[] {
    const sp = run.skypilot;
    if (!sp?.cluster) return ['sky', 'jobs', 'logs', sp?.jobId ?? ''];
    return new SshTransport(sp.cluster, this.env.ssh).terminalArgv(`tunekit/${this.config.name}/${run.runDir}`);
  }
}

/** Rows of `sky queue -o json` / `sky jobs queue -o json`, whichever key names the version uses. */
export function parseSkyJson(text: string): { id: string; status: string }[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return [];
  }
  const list = Array.isArray(v) ? v : v && typeof v === 'object' ? Object.values(v as Record<string, unknown>).find(Array.isArray) ?? [] : [];
  const rows: { id: string; status: string }[] = [];
  for (const item of list as unknown[]) {
    if (!item || typeof item !== 'object') continue;
    const o = item as Record<string, unknown>;
    const id = o['job_id'] ?? o['id'] ?? o['jobId'];
    const status = o['status'] ?? o['job_status'];
    if ((typeof id === 'number' || typeof id === 'string') && typeof status === 'string') rows.push({ id: String(id), status: status.replace(/^.*\./, '') });
  }
  return rows;
}

/** Rows of the plain table `sky queue` prints: the first column is the job id, the status is the column headed STATUS. */
export function parseSkyTable(text: string): { id: string; status: string }[] {
  const lines = text.split('\n');
  const headerAt = lines.findIndex((l) => /\bID\b/.test(l) && /\bSTATUS\b/.test(l));
  if (headerAt < 0) return [];
  const rows: { id: string; status: string }[] = [];
  const known = /^(INIT|PENDING|SUBMITTED|STARTING|SETTING_UP|RUNNING|RECOVERING|SUCCEEDED|CANCELLING|CANCELLED|FAILED(_[A-Z]+)?)$/;
  for (const line of lines.slice(headerAt + 1)) {
    const cells = line.trim().split(/\s+/);
    if (!cells[0] || !/^\d+$/.test(cells[0])) continue;
    const status = cells.find((c) => known.test(c));
    if (status) rows.push({ id: cells[0], status });
  }
  return rows;
}

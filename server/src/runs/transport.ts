import { spawn } from 'node:child_process';
import { shellJoin } from './quote';

/**
 * How Tunekit reaches the machine a run lives on: the system OpenSSH client (so `~/.ssh/config`,
 * agents, ProxyJump and ControlMaster work as in the user's terminal), rsync over it, or the
 * local machine when a Slurm login node is this one. Every process is started from an argv array;
 * remote scripts travel on ssh's stdin (`bash -s`), so nothing but `bash -s` is ever parsed by the
 * remote login shell, and secrets in a script never appear in any process's arguments.
 */

export interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunProcessOptions {
  stdin?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  signal?: AbortSignal;
}

export class CommandFailedError extends Error {
  constructor(
    message: string,
    readonly result?: ProcessResult,
  ) {
    super(message);
  }
}

/** Runs a program (argv array, no shell) and collects its output. Never rejects for a non-zero exit. */
export function runProcess(argv: readonly string[], opts: RunProcessOptions = {}): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    if (!cmd) {
      reject(new Error('empty command'));
      return;
    }
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (): void => {
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), 3000);
    };
    if (opts.timeoutMs) timer = setTimeout(stop, opts.timeoutMs);
    const onAbort = (): void => stop();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => undefined);
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      reject(e.code === 'ENOENT' ? new CommandFailedError(`"${cmd}" was not found on PATH; install it or put it on PATH.`) : e);
    });
    child.on('close', (code, sig) => {
      if (timer) clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve({ code: code ?? (sig ? 128 + 15 : 1), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.end(opts.stdin ?? '');
  });
}

export interface SshSettings {
  /** `ssh -F FILE`: an ssh config to use instead of `~/.ssh/config`. */
  configFile?: string;
  /** Extra ssh options, e.g. ['-o', 'StrictHostKeyChecking=accept-new']. */
  options?: string[];
  /** Program names (tests and unusual installs). */
  sshProgram?: string;
  rsyncProgram?: string;
  connectTimeoutSeconds?: number;
}

/** Where run folders live and how commands reach them. */
export interface Transport {
  /** `host` for ssh, `local` for this machine. */
  readonly label: string;
  /** Runs a bash script there (script on stdin). */
  exec(script: string, opts?: { timeoutMs?: number; signal?: AbortSignal }): Promise<ProcessResult>;
  /** rsync argv that copies `localDir/` into `remoteDir/` (absolute remote path). */
  pushArgv(localDir: string, remoteDir: string, extra: string[]): string[];
  /** rsync argv that copies `remoteDir/` into `localDir/`. */
  pullArgv(remoteDir: string, localDir: string, extra: string[]): string[];
  /** A shell command line for a terminal in `remoteDir`. */
  terminalArgv(remoteDir: string): string[];
}

export class SshTransport implements Transport {
  constructor(
    readonly host: string,
    private readonly settings: SshSettings = {},
  ) {
    if (host.startsWith('-')) throw new Error(`The ssh host "${host}" starts with "-", which ssh would read as an option.`);
  }

  get label(): string {
    return this.host;
  }

  /** ssh's own options, without the destination. */
  sshOptions(): string[] {
    const o: string[] = [];
    if (this.settings.configFile) o.push('-F', this.settings.configFile);
    o.push('-o', 'BatchMode=yes', '-o', `ConnectTimeout=${this.settings.connectTimeoutSeconds ?? 15}`, '-o', 'ServerAliveInterval=15', '-o', 'ServerAliveCountMax=3');
    o.push(...(this.settings.options ?? []));
    return o;
  }

  exec(script: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<ProcessResult> {
    const argv = [this.settings.sshProgram ?? 'ssh', ...this.sshOptions(), '-T', '--', this.host, 'bash -s'];
    return runProcess(argv, { stdin: script, ...opts });
  }

  private rsyncShell(): string {
    return shellJoin([this.settings.sshProgram ?? 'ssh', ...this.sshOptions()]);
  }

  pushArgv(localDir: string, remoteDir: string, extra: string[]): string[] {
    return [this.settings.rsyncProgram ?? 'rsync', '-a', '-s', '--partial', '-e', this.rsyncShell(), ...extra, '--', withSlash(localDir), `${this.host}:${withSlash(remoteDir)}`];
  }

  pullArgv(remoteDir: string, localDir: string, extra: string[]): string[] {
    return [this.settings.rsyncProgram ?? 'rsync', '-a', '-s', '-e', this.rsyncShell(), ...extra, '--', `${this.host}:${withSlash(remoteDir)}`, withSlash(localDir)];
  }

  terminalArgv(remoteDir: string): string[] {
    return [this.settings.sshProgram ?? 'ssh', ...this.sshOptions().map((o) => (o === 'BatchMode=yes' ? 'BatchMode=no' : o)), '-t', '--', this.host, `cd ${shellJoin([remoteDir])} && exec "$SHELL" -l`];
  }
}

export class LocalTransport implements Transport {
  readonly label = 'local';
  constructor(private readonly settings: SshSettings = {}) {}

  exec(script: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<ProcessResult> {
    return runProcess(['bash', '-s'], { stdin: script, ...opts });
  }

  pushArgv(localDir: string, remoteDir: string, extra: string[]): string[] {
    return [this.settings.rsyncProgram ?? 'rsync', '-a', ...extra, '--', withSlash(localDir), withSlash(remoteDir)];
  }

  pullArgv(remoteDir: string, localDir: string, extra: string[]): string[] {
    return [this.settings.rsyncProgram ?? 'rsync', '-a', ...extra, '--', withSlash(remoteDir), withSlash(localDir)];
  }

  terminalArgv(remoteDir: string): string[] {
    return ['bash', '-c', `cd ${shellJoin([remoteDir])} && exec "$SHELL" -l`];
  }
}

function withSlash(p: string): string {
  return p.endsWith('/') ? p : `${p}/`;
}

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestContext } from 'node:test';

/**
 * A real OpenSSH server for tests: bound to 127.0.0.1 on a free port, a throwaway host key, one
 * authorized test key, started and stopped by the test by pid. Clients use `configFile` (ssh -F),
 * so the user's ~/.ssh is never read or written.
 */

export interface TestSshd {
  dir: string;
  port: number;
  /** An ssh client config for host `127.0.0.1` (and the alias `tunekit-test`). */
  configFile: string;
  pid(): number | undefined;
  stop(): Promise<void>;
  /** Starts it again on the same port (after `stop`, to simulate a dropped connection). */
  start(): Promise<void>;
}

const SSHD = '/usr/sbin/sshd';

/**
 * Why the components a test needs are missing, or undefined when all are there. In CI
 * (`CI=true`) a missing component fails the test instead of skipping it.
 */
export function missingComponent(programs: string[]): string | undefined {
  for (const p of programs) {
    if (p.startsWith('/')) {
      if (!fs.existsSync(p)) return `${p} is not installed`;
    } else if (spawnSync('sh', ['-c', `command -v ${p}`]).status !== 0) return `${p} is not on PATH`;
  }
  return undefined;
}

/** Skips with the reason, or fails in CI. Returns true when the test should stop. */
export function skipUnless(t: TestContext, reason: string | undefined): boolean {
  if (!reason) return false;
  if (process.env['CI'] === 'true') throw new Error(`required test component missing in CI: ${reason}`);
  t.skip(reason);
  return true;
}

/** Python with torch: the smoke trainer's requirement. */
export function torchPython(): string | undefined {
  for (const py of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return undefined;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function startSshd(opts: { setEnv?: Record<string, string> } = {}): Promise<TestSshd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunekit-sshd-'));
  fs.chmodSync(dir, 0o700);
  const keygen = (file: string): void => {
    const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file]);
    if (r.status !== 0) throw new Error(`ssh-keygen failed: ${String(r.stderr)}`);
  };
  keygen(path.join(dir, 'host_key'));
  keygen(path.join(dir, 'id_test'));
  fs.copyFileSync(path.join(dir, 'id_test.pub'), path.join(dir, 'authorized_keys'));
  fs.mkdirSync('/run/sshd', { recursive: true });
  const port = await freePort();
  const user = os.userInfo().username;
  const setEnv = Object.entries(opts.setEnv ?? {}).map(([k, v]) => `${k}=${v}`);
  fs.writeFileSync(
    path.join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${path.join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'UsePAM no',
      'StrictModes no',
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      'LogLevel ERROR',
      ...(setEnv.length ? [`SetEnv ${setEnv.join(' ')}`] : []),
      '',
    ].join('\n'),
  );
  fs.writeFileSync(
    path.join(dir, 'ssh_config'),
    [
      'Host 127.0.0.1 localhost tunekit-test',
      '  HostName 127.0.0.1',
      `  Port ${port}`,
      `  User ${user}`,
      `  IdentityFile ${path.join(dir, 'id_test')}`,
      '  IdentitiesOnly yes',
      '  StrictHostKeyChecking no',
      `  UserKnownHostsFile ${path.join(dir, 'known_hosts')}`,
      '  LogLevel ERROR',
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  const server: TestSshd = {
    dir,
    port,
    configFile: path.join(dir, 'ssh_config'),
    pid: () => child?.pid,
    async start() {
      child = spawn(SSHD, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
      const deadline = Date.now() + 15_000;
      for (;;) {
        if (child.exitCode !== null) throw new Error(`sshd exited: ${stderr}`);
        const r = spawnSync('ssh', ['-F', server.configFile, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=2', '127.0.0.1', 'true'], { timeout: 5000 });
        if (r.status === 0) return;
        if (Date.now() > deadline) throw new Error(`sshd did not accept the test key: ${String(r.stderr)} ${stderr}`);
        await new Promise((res) => setTimeout(res, 100));
      }
    },
    async stop() {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise<void>((res) => c.once('exit', () => res()));
      c.kill('SIGTERM');
      await exited;
    },
  };
  await server.start();
  return server;
}

/** Live (non-zombie) processes in a process group, read from /proc. */
export function liveProcessesInGroup(pgid: number): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') out.push(Number(name));
  }
  return out;
}

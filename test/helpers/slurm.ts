import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, missingComponent } from './sshd';

/**
 * A one-node Slurm cluster for tests: munged, slurmctld and slurmd started by hand in the
 * foreground with a slurm.conf under a temp folder (nothing in /etc is touched), stopped by pid.
 * Clients find it through SLURM_CONF, which the test passes to the ssh server's sessions.
 */

export interface TestSlurm {
  dir: string;
  conf: string;
  /** Environment that points Slurm's commands at this cluster. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export function missingSlurm(): string | undefined {
  return missingComponent(['/usr/sbin/munged', '/usr/sbin/slurmctld', '/usr/sbin/slurmd', 'sbatch', 'squeue', 'scontrol', 'scancel', 'srun']);
}

export async function startSlurm(): Promise<TestSlurm> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunekit-slurm-'));
  const host = os.hostname().split('.')[0]!;
  for (const d of ['state', 'spool', 'munge']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  fs.chmodSync(path.join(dir, 'munge'), 0o700);
  const key = path.join(dir, 'munge', 'munge.key');
  fs.writeFileSync(key, crypto.randomBytes(1024), { mode: 0o400 });
  const socket = path.join(dir, 'munge', 'munge.socket');
  const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
  const conf = path.join(dir, 'slurm.conf');
  const user = os.userInfo().username;
  fs.writeFileSync(
    conf,
    [
      'ClusterName=tunekit-test',
      `SlurmctldHost=${host}(127.0.0.1)`,
      'AuthType=auth/munge',
      `AuthInfo=socket=${socket}`,
      'CredType=cred/munge',
      `SlurmUser=${user}`,
      `SlurmdUser=${user}`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${slurmdPort}`,
      `StateSaveLocation=${path.join(dir, 'state')}`,
      `SlurmdSpoolDir=${path.join(dir, 'spool')}`,
      `SlurmctldPidFile=${path.join(dir, 'slurmctld.pid')}`,
      `SlurmdPidFile=${path.join(dir, 'slurmd.pid')}`,
      `SlurmctldLogFile=${path.join(dir, 'slurmctld.log')}`,
      `SlurmdLogFile=${path.join(dir, 'slurmd.log')}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'MpiDefault=none',
      'ReturnToService=2',
      'SchedulerType=sched/builtin',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'JobCompType=jobcomp/none',
      'AccountingStorageType=accounting_storage/none',
      'JobAcctGatherType=jobacct_gather/none',
      'KillWait=5',
      'MinJobAge=600',
      'InactiveLimit=0',
      `PlugStackConfig=${path.join(dir, 'plugstack.conf')}`,
      `NodeName=${host} NodeAddr=127.0.0.1 CPUs=${Math.max(1, os.cpus().length)} RealMemory=1000 State=UNKNOWN`,
      `PartitionName=tunekit Nodes=${host} Default=YES MaxTime=INFINITE State=UP`,
      '',
    ].join('\n'),
  );
  fs.writeFileSync(path.join(dir, 'plugstack.conf'), '');
  const env = { SLURM_CONF: conf };
  const children: ChildProcess[] = [];
  const launch = (argv: string[], name: string): ChildProcess => {
    const c = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, `${name}.stderr`), 'a')], env: { ...process.env, ...env } });
    children.push(c);
    return c;
  };
  const stop = async (): Promise<void> => {
    for (const c of children.reverse()) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      const exited = new Promise<void>((res) => c.once('exit', () => res()));
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  };
  try {
    launch(['/usr/sbin/munged', '-F', '--force', `--key-file=${key}`, `--socket=${socket}`, `--pid-file=${path.join(dir, 'munge', 'munged.pid')}`, `--log-file=${path.join(dir, 'munge', 'munged.log')}`, `--seed-file=${path.join(dir, 'munge', 'munge.seed')}`], 'munged');
    await waitFor(() => fs.existsSync(socket), 'munged socket', dir);
    launch(['/usr/sbin/slurmctld', '-D', '-i', '-f', conf], 'slurmctld');
    launch(['/usr/sbin/slurmd', '-D', '-f', conf, '-N', host], 'slurmd');
    await waitFor(() => {
      const r = spawnSync('sinfo', ['-h', '-o', '%T'], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 5000 });
      return r.status === 0 && /idle/.test(r.stdout);
    }, 'an idle Slurm node', dir);
  } catch (e) {
    await stop();
    throw e;
  }
  return { dir, conf, env, stop };
}

async function waitFor(pred: () => boolean, what: string, dir: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!pred()) {
    if (Date.now() > deadline) {
      const logs = ['munged.stderr', 'slurmctld.stderr', 'slurmd.stderr', 'slurmctld.log', 'slurmd.log']
        .map((f) => path.join(dir, f))
        .filter((f) => fs.existsSync(f))
        .map((f) => `${path.basename(f)}: ${fs.readFileSync(f, 'utf8').slice(-800)}`)
        .join('\n');
      throw new Error(`timed out waiting for ${what}\n${logs}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

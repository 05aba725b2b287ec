import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { RunService } from '../../server/src/runs/launch';
import { parseWrapperStatus } from '../../server/src/runs/progress';
import { ROOT } from '../helpers/fixtures';
import { makeProject, runSettings, SAMPLE_TRAIN, waitUntil } from '../helpers/runs';
import { missingSlurm, startSlurm, type TestSlurm } from '../helpers/slurm';
import { liveProcessesInGroup, missingComponent, skipUnless, startSshd, torchPython, type TestSshd } from '../helpers/sshd';

/**
 * A one-node Slurm cluster (munged, slurmctld, slurmd started here with a temp slurm.conf and
 * stopped by pid) whose login node is reached over a real sshd on 127.0.0.1: sbatch, status from
 * squeue/scontrol and status.json, the job's log, scancel.
 */

const missing = missingComponent(['/usr/sbin/sshd', 'ssh', 'rsync']) ?? missingSlurm() ?? (torchPython() ? undefined : 'python3 with torch (Debian python3-torch) is not installed');
let slurm: TestSlurm | undefined;
let sshd: TestSshd | undefined;
let home = '';

before(async () => {
  if (missing) return;
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'tunekit-home-'));
  slurm = await startSlurm();
  sshd = await startSshd({ setEnv: { HOME: home, ...slurm.env } });
});

after(async () => {
  await sshd?.stop();
  await slurm?.stop();
});

function ready(t: TestContext): { sshd: TestSshd; slurm: TestSlurm } | undefined {
  if (skipUnless(t, missing)) return undefined;
  return { sshd: sshd!, slurm: slurm! };
}

function scontrolState(env: Record<string, string>, jobId: string): string {
  const r = spawnSync('scontrol', ['show', 'job', '-o', jobId], { env: { ...process.env, ...env }, encoding: 'utf8' });
  return /JobState=(\S+)/.exec(r.stdout)?.[1] ?? '';
}

test('tunekit run launch samples/runs/smoke-slurm.tunekit.yaml: sbatch, srun torchrun, progress, completed, outputs downloaded', async (t) => {
  const c = ready(t);
  if (!c) return;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tunekit-cli-'));
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'tunekit.js'), 'run', 'launch', path.join(ROOT, 'samples', 'runs', 'smoke-slurm.tunekit.yaml'), '--ssh-config', c.sshd.configFile, '--root', root, '--follow', '--download', '--interval', '0.5']);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
  assert.equal(r.code, 0, r.stderr);
  const id = r.stdout.split('\n')[0]!.trim();
  assert.match(r.stderr, /slurm via 127\.0\.0\.1: 1 node × no GPU, time limit 0:10:00/);
  assert.match(r.stderr, /step 30\/30 \(100%\)/);
  assert.match(r.stderr, /completed .*\(exit 0\)/);
  const record = JSON.parse(fs.readFileSync(path.join(root, '.tunekit', 'runs', `${id}.json`), 'utf8')) as { slurmJobId: string; workdir: string; runDir: string };
  assert.match(record.slurmJobId, /^\d+$/);
  assert.equal(scontrolState(c.slurm.env, record.slurmJobId), 'COMPLETED');
  const slurmLog = fs.readFileSync(path.join(record.workdir, record.runDir, `slurm-${record.slurmJobId}.out`), 'utf8');
  assert.match(slurmLog, /tunekit-smoke: done/, "the job's --output file has the trainer's output");
  assert.ok(fs.existsSync(path.join(root, '.tunekit', 'outputs', 'smoke-slurm', id, 'adapter_model.bin')));
});

test('Slurm: status while running, logs, scancel stops the job and its processes; cancel again changes nothing', async (t) => {
  const c = ready(t);
  if (!c) return;
  const p = makeProject(
    `name: slurm-cancel
recipe: smoke
datasets: [{path: data/train.jsonl}]
hyperparameters: {maxSteps: 100000, loggingSteps: 1, batchSize: 2, gradientAccumulation: 1}
backend: {type: slurm, host: 127.0.0.1, remoteDir: ~/tunekit-runs, gpusPerNode: 0}
env: {TUNEKIT_SMOKE_STEP_SECONDS: "0.05"}
`,
    { 'data/train.jsonl': fs.readFileSync(SAMPLE_TRAIN) },
  );
  const svc = new RunService({ root: p.root, settings: runSettings(), ssh: { configFile: c.sshd.configFile }, graceSeconds: 2 });
  const run = await svc.launch(p.configPath);
  assert.equal(run.state, 'queued');
  assert.match(run.slurmJobId ?? '', /^\d+$/);
  const running = await waitUntil(async () => {
    const u = await svc.refresh(run.id);
    return u.run.state === 'running' && u.run.progress ? u.run : undefined;
  }, 'the job to run and report progress', 90_000, 300);
  assert.equal(scontrolState(c.slurm.env, run.slurmJobId!), 'RUNNING');
  assert.ok(running.progress!.currentStep > 0);
  const logs = await svc.refresh(run.id, { logFrom: 0 });
  assert.match(logs.logChunk ?? '', /tunekit: step 1\/1: smoke trainer/);
  const status = parseWrapperStatus(fs.readFileSync(path.join(run.workdir!, run.runDir, 'status.json'), 'utf8'))!;
  assert.equal(status.slurmJobId, run.slurmJobId);
  const cancelled = await svc.cancel(run.id);
  assert.equal(cancelled.state, 'cancelled');
  assert.match(scontrolState(c.slurm.env, run.slurmJobId!), /^CANCELLED/);
  await waitUntil(() => liveProcessesInGroup(status.trainerPgid!).length === 0, 'the trainer processes to go', 30_000);
  const again = await svc.cancel(run.id);
  assert.equal(again.state, 'cancelled');
});

test('Slurm: a job that fails reports the trainer\'s real exit code', async (t) => {
  const c = ready(t);
  if (!c) return;
  const p = makeProject(
    `name: slurm-fail
recipe: command
command: [bash, -c, "echo about to fail; exit 7"]
datasets: [{path: data/train.jsonl}]
backend: {type: slurm, host: 127.0.0.1, remoteDir: ~/tunekit-runs, gpusPerNode: 0}
`,
    { 'data/train.jsonl': fs.readFileSync(SAMPLE_TRAIN) },
  );
  const svc = new RunService({ root: p.root, settings: runSettings(), ssh: { configFile: c.sshd.configFile } });
  const run = await svc.launch(p.configPath);
  const final = await svc.follow(run.id, { intervalMs: 300, logFrom: 0 });
  assert.equal(final.state, 'failed');
  assert.equal(final.exitCode, 7);
  assert.equal(scontrolState(c.slurm.env, run.slurmJobId!), 'FAILED');
});

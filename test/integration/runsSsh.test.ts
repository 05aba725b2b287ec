import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { LaunchRefusedError, RunService } from '../../server/src/runs/launch';
import { parseWrapperStatus } from '../../server/src/runs/progress';
import { ROOT } from '../helpers/fixtures';
import { anyArgvContains, listFiles, makeProject, runSettings, SAMPLE_TRAIN, waitUntil } from '../helpers/runs';
import { liveProcessesInGroup, missingComponent, skipUnless, startSshd, torchPython, type TestSshd } from '../helpers/sshd';

/**
 * End to end over a real OpenSSH server on 127.0.0.1 (throwaway keys, started and stopped here
 * by pid), rsync, and the real smoke trainer (python3 + torch). The server's sessions get a
 * private HOME, so `~/tunekit-runs` lands in a temp folder.
 */

const missing = missingComponent(['/usr/sbin/sshd', 'ssh', 'ssh-keygen', 'rsync']) ?? (torchPython() ? undefined : 'python3 with torch (Debian python3-torch) is not installed');
let sshd: TestSshd | undefined;
let home = '';

before(async () => {
  if (missing) return;
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'tunekit-home-'));
  sshd = await startSshd({ setEnv: { HOME: home } });
});

after(async () => {
  await sshd?.stop();
});

function ready(t: TestContext): TestSshd | undefined {
  if (skipUnless(t, missing)) return undefined;
  return sshd;
}

function smokeConfig(name: string, extra: { steps?: number; delay?: number; saveSteps?: number; more?: string } = {}): string {
  return `name: ${name}
recipe: smoke
datasets:
  - path: data/train.jsonl
hyperparameters:
  maxSteps: ${extra.steps ?? 30}
  batchSize: 2
  gradientAccumulation: 1
  loggingSteps: 1
  saveSteps: ${extra.saveSteps ?? 500}
backend:
  type: ssh
  host: 127.0.0.1
  remoteDir: ~/tunekit-runs
  gpus: 0
env:
  TUNEKIT_SMOKE_STEP_SECONDS: "${extra.delay ?? 0}"
${extra.more ?? ''}`;
}

function service(root: string, s: TestSshd, extra: Partial<ConstructorParameters<typeof RunService>[0]> = {}): RunService {
  return new RunService({ root, settings: runSettings(), ssh: { configFile: s.configFile }, graceSeconds: 2, ...extra });
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'tunekit.js'), ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

test('tunekit run launch samples/runs/smoke.tunekit.yaml over ssh to 127.0.0.1: progress, completed, outputs downloaded', async (t) => {
  const s = ready(t);
  if (!s) return;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tunekit-cli-'));
  const sample = path.join(ROOT, 'samples', 'runs', 'smoke.tunekit.yaml');
  const r = await cli(['run', 'launch', sample, '--ssh-config', s.configFile, '--root', root, '--follow', '--download', '--interval', '0.3']);
  assert.equal(r.code, 0, r.stderr);
  const id = r.stdout.split('\n')[0]!.trim();
  assert.match(id, /^smoke-\d{8}-\d{6}-[0-9a-f]{4}$/);
  assert.match(r.stderr, /Runs on|ssh 127\.0\.0\.1: 1 node, CPU only/);
  assert.match(r.stderr, /step 30\/30 \(100%\) · loss \d/);
  assert.match(r.stderr, /completed .*\(exit 0\)/);
  assert.match(r.stdout, /tunekit-smoke: 40 records, device cpu/, 'the trainer log is streamed');
  const outputs = path.join(root, '.tunekit', 'outputs', 'smoke', id);
  assert.deepEqual(fs.readdirSync(outputs).sort(), ['adapter_config.json', 'adapter_model.bin', 'train_results.json', 'trainer_log.jsonl']);
  const log = fs.readFileSync(path.join(outputs, 'trainer_log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(log.length, 6);
  assert.deepEqual(Object.keys(log[0]!).sort(), ['current_steps', 'elapsed_time', 'epoch', 'loss', 'lr', 'percentage', 'remaining_time', 'total_steps']);
  const status = await cli(['run', 'status', id, '--root', root, '--ssh-config', s.configFile, '--json']);
  const rec = JSON.parse(status.stdout) as { state: string; exitCode: number; progress: { percentage: number } };
  assert.equal(rec.state, 'completed');
  assert.equal(rec.exitCode, 0);
  assert.equal(rec.progress.percentage, 100);
  const logs = await cli(['run', 'logs', id, '--root', root, '--ssh-config', s.configFile]);
  assert.match(logs.stdout, /tunekit-smoke: done, final loss/);
  assert.ok(fs.existsSync(path.join(home, 'tunekit-runs', 'smoke', 'runs', id, 'status.json')), 'the run lives under the remote ~/tunekit-runs');
  // Cancelling a finished run changes nothing; downloading again goes where it is told.
  const cancel = await cli(['run', 'cancel', id, '--root', root, '--ssh-config', s.configFile]);
  assert.equal(cancel.code, 0);
  assert.match(cancel.stdout, /completed .*\(exit 0\)/);
  const to = path.join(root, 'elsewhere');
  const download = await cli(['run', 'download', id, '--root', root, '--ssh-config', s.configFile, '--to', to]);
  assert.equal(download.code, 0, download.stderr);
  assert.ok(fs.existsSync(path.join(to, 'adapter_model.bin')));
  const list = await cli(['run', 'status', '--root', root]);
  assert.match(list.stdout, new RegExp(`^${id}  completed`, 'm'));
});

test('launch → running with progress → completed (RunService), recorded under .tunekit/runs', async (t) => {
  const s = ready(t);
  if (!s) return;
  const p = makeProject(smokeConfig('follow', { steps: 25, delay: 0.15 }), { 'data/train.jsonl': fs.readFileSync(SAMPLE_TRAIN) });
  const svc = service(p.root, s);
  const phases: string[] = [];
  const run = await svc.launch(p.configPath, { onPhase: (ph) => void phases.push(ph) });
  assert.deepEqual([...new Set(phases)], ['preflight', 'bundle', 'prepare', 'sync', 'verify', 'start', 'started']);
  assert.equal(run.state, 'running');
  assert.ok(fs.existsSync(path.join(p.root, '.tunekit', 'runs', `${run.id}.json`)));
  const seen: { state: string; pct?: number }[] = [];
  const final = await svc.follow(run.id, { intervalMs: 250, onUpdate: (u) => seen.push({ state: u.run.state, ...(u.run.progress ? { pct: u.run.progress.percentage } : {}) }) });
  assert.ok(seen.some((x) => x.state === 'running' && x.pct !== undefined && x.pct > 0 && x.pct < 100), `progress while running: ${JSON.stringify(seen)}`);
  assert.equal(final.state, 'completed');
  assert.equal(final.exitCode, 0);
  assert.equal(final.progress?.currentStep, 25);
  assert.ok(final.startedAt && final.endedAt);
  const { files } = await svc.download(run.id);
  assert.ok(files.includes('adapter_model.bin'));
  assert.ok(!files.some((f) => f.startsWith('checkpoint-')), 'checkpoints are not downloaded by default');
});

test('cancel kills the whole process group (children that ignore TERM too) and is idempotent', async (t) => {
  const s = ready(t);
  if (!s) return;
  const yaml = `name: cancel
recipe: command
command: [bash, -c, "trap '' TERM; sleep 300 & sleep 301 & echo started; wait"]
datasets: [{path: data/train.jsonl}]
backend: {type: ssh, host: 127.0.0.1, remoteDir: ~/tunekit-runs, gpus: 0}
`;
  const p = makeProject(yaml, { 'data/train.jsonl': fs.readFileSync(SAMPLE_TRAIN) });
  const svc = service(p.root, s);
  const run = await svc.launch(p.configPath);
  await waitUntil(async () => ((await svc.refresh(run.id, { logFrom: 0 })).logChunk ?? '').includes('started'), 'the trainer to start its children', 60_000, 200);
  const statusFile = path.join(run.workdir!, run.runDir, 'status.json');
  const pgid = parseWrapperStatus(fs.readFileSync(statusFile, 'utf8'))!.trainerPgid!;
  assert.ok(liveProcessesInGroup(pgid).length >= 3, 'bash and its two sleeps');
  const cancelled = await svc.cancel(run.id);
  assert.equal(cancelled.state, 'cancelled');
  assert.deepEqual(liveProcessesInGroup(pgid), [], 'the trainer and everything in its group is gone');
  assert.equal(parseWrapperStatus(fs.readFileSync(statusFile, 'utf8'))!.state, 'cancelled');
  const again = await svc.cancel(run.id);
  assert.equal(again.state, 'cancelled');
  assert.equal(again.endedAt, cancelled.endedAt);
});

test('the ssh connection drops mid-run; after a restart the client re-attaches and shows the true final state', async (t) => {
  const s = ready(t);
  if (!s) return;
  const p = makeProject(smokeConfig('reattach', { steps: 40, delay: 0.15 }), { 'data/train.jsonl': fs.readFileSync(SAMPLE_TRAIN) });
  const first = service(p.root, s);
  const run = await first.launch(p.configPath);
  await waitUntil(async () => (await first.refresh(run.id)).run.progress, 'training progress', 60_000, 200);
  await s.stop();
  try {
    const u = await first.refresh(run.id);
    assert.ok(u.run.unreachable, 'the failed poll is reported as unreachable');
    assert.equal(u.run.state, 'running', 'an unreachable run keeps its last known state');
    // The run goes on without any connection; wait for its wrapper to finish (same machine).
    await waitUntil(() => parseWrapperStatus(fs.readFileSync(path.join(run.workdir!, run.runDir, 'status.json'), 'utf8'))?.state === 'completed', 'the run to finish on the remote side', 90_000, 200);
  } finally {
    await s.start();
  }
  // A new service, as after an editor restart: it finds the run in .tunekit/runs and re-attaches.
  const restarted = service(p.root, s);
  assert.deepEqual(restarted.unfinished().map((r) => r.id), [run.id]);
  const u = await restarted.refresh(run.id);
  assert.equal(u.run.state, 'completed');
  assert.equal(u.run.exitCode, 0);
  assert.equal(u.run.unreachable, undefined);
  assert.equal(u.run.progress?.currentStep, 40);
  assert.deepEqual(restarted.unfinished(), []);
});

test('a file corrupted after sync is caught by the manifest check and nothing starts', async (t) => {
  const s = ready(t);
  if (!s) return;
  const p = makeProject(smokeConfig('corrupt'), { 'data/train.jsonl': fs.readFileSync(SAMPLE_TRAIN) });
  const svc = service(p.root, s);
  const workdir = path.join(home, 'tunekit-runs', 'corrupt');
  await assert.rejects(
    svc.launch(p.configPath, {
      onPhase: (phase) => {
        if (phase === 'verify') fs.appendFileSync(path.join(workdir, 'data', '0-train.jsonl'), '{"tampered": true}\n');
      },
    }),
    /sha256 mismatch\) for data\/0-train\.jsonl; nothing was started/,
  );
  const [rec] = svc.list();
  assert.equal(rec!.state, 'failed');
  assert.match(rec!.detail!, /sha256 mismatch/);
  assert.ok(!fs.existsSync(path.join(workdir, rec!.runDir, 'status.json')), 'run.sh never ran');
  // Launching again re-uploads the damaged file and succeeds.
  const run = await svc.launch(p.configPath);
  assert.equal((await svc.follow(run.id, { intervalMs: 300 })).state, 'completed');
});

test('hostile config values stay inert; secrets reach the trainer only through its environment', async (t) => {
  const s = ready(t);
  if (!s) return;
  const canary = fs.mkdtempSync(path.join(os.tmpdir(), 'tunekit-canary-'));
  const hostile = `$(touch ${canary}/p1) \`touch ${canary}/p2\`; touch ${canary}/p3 && echo 'q"uote' \n touch ${canary}/p4`;
  const secret = `s3cr3t-'$(touch ${canary}/p5)'-value`;
  const dataName = `data/we ird $(touch ${canary}/p6); name.jsonl`;
  const remote = `${home}/runs dir/$(touch ${canary}/p7);'x'`;
  const yaml = `name: hostile
recipe: command
command:
  - bash
  - -c
  - 'printf %s "$HOSTILE" > "$TUNEKIT_OUTPUT_DIR/hostile.txt"; printf %s "$TK_TEST_SECRET" | sha256sum > "$TUNEKIT_OUTPUT_DIR/secret.sha"; echo "the secret is $TK_TEST_SECRET"; sleep 2'
  - ${JSON.stringify(`; touch ${canary}/p8`)}
datasets:
  - path: ${JSON.stringify(dataName)}
backend:
  type: ssh
  host: 127.0.0.1
  remoteDir: ${JSON.stringify(remote)}
  gpus: 0
env:
  HOSTILE: ${JSON.stringify(hostile)}
secrets: [TK_TEST_SECRET]
outputs:
  include: ["*.txt", "*.sha"]
`;
  const p = makeProject(yaml, { [dataName]: fs.readFileSync(SAMPLE_TRAIN) });
  const svc = service(p.root, s, { settings: runSettings({ minRecords: 0 }), getSecret: (n) => Promise.resolve(n === 'TK_TEST_SECRET' ? secret : undefined) });
  const run = await svc.launch(p.configPath);
  assert.equal(run.workdir, `${home}/runs dir/$(touch ${canary}/p7);'x'/hostile`);
  const seenInArgv = await waitUntil(async () => {
    const hit = anyArgvContains(secret);
    if (hit) return `LEAK ${hit}`;
    const u = await svc.refresh(run.id);
    return u.run.state === 'completed' || u.run.state === 'failed' ? 'finished' : undefined;
  }, 'the run to finish while watching every process argv', 60_000, 50);
  assert.equal(seenInArgv, 'finished', 'the secret never appears in any process argv');
  const final = await svc.follow(run.id, { intervalMs: 200 });
  assert.equal(final.state, 'completed', final.detail);
  assert.deepEqual(fs.readdirSync(canary), [], 'no hostile value was executed');
  const out = path.join(run.workdir ?? '', run.runDir, 'output');
  assert.equal(fs.readFileSync(path.join(out, 'hostile.txt'), 'utf8'), hostile);
  const { createHash } = await import('node:crypto');
  assert.equal(fs.readFileSync(path.join(out, 'secret.sha'), 'utf8').split(' ')[0], createHash('sha256').update(secret).digest('hex'));
  // Never in files Tunekit writes: the bundle, the records.
  const bundle = path.join(p.root, '.tunekit');
  for (const f of listFiles(bundle)) assert.ok(!fs.readFileSync(path.join(bundle, f), 'utf8').includes(secret), `secret in ${f}`);
  // The trainer echoed it; the log Tunekit shows is redacted, also by a fresh service (as after a restart).
  const fresh = service(p.root, s, { getSecret: (n) => Promise.resolve(n === 'TK_TEST_SECRET' ? secret : undefined) });
  const log = await fresh.refresh(run.id, { logFrom: 0 });
  assert.match(log.logChunk ?? '', /the secret is \*\*\*/);
  assert.ok(!(log.logChunk ?? '').includes(secret));
  const { files } = await svc.download(run.id);
  assert.deepEqual(files.sort(), ['hostile.txt', 'secret.sha']);
});

test('launching a config that already has a running run asks first; relaunch resumes from the newest checkpoint', async (t) => {
  const s = ready(t);
  if (!s) return;
  const p = makeProject(smokeConfig('resume', { steps: 60, delay: 0.08, saveSteps: 5 }), { 'data/train.jsonl': fs.readFileSync(SAMPLE_TRAIN) });
  const svc = service(p.root, s);
  const run = await svc.launch(p.configPath);
  let asked: string[] = [];
  await assert.rejects(
    svc.launch(p.configPath, { confirmActive: (active) => ((asked = active.map((r) => r.id)), false) }),
    (e: unknown) => e instanceof LaunchRefusedError && /already has a run that has not finished/.test(e.message),
  );
  assert.deepEqual(asked, [run.id]);
  await waitUntil(async () => ((await svc.refresh(run.id)).run.progress?.currentStep ?? 0) >= 12, 'a few checkpoints', 60_000, 200);
  await assert.rejects(svc.relaunch(run.id), /still running; cancel it before relaunching/);
  const cancelled = await svc.cancel(run.id);
  const reached = cancelled.progress!.currentStep;
  const resumed = await svc.relaunch(run.id);
  assert.ok(resumed.resumedFrom, 'resumes');
  const ckpt = Number(/checkpoint-(\d+)$/.exec(resumed.resumedFrom.checkpoint)?.[1]);
  assert.ok(ckpt >= 10 && ckpt <= reached && ckpt % 5 === 0, `checkpoint ${ckpt} (reached ${reached})`);
  const final = await svc.follow(resumed.id, { intervalMs: 300 });
  assert.equal(final.state, 'completed');
  const log = fs.readFileSync(path.join(final.workdir!, final.runDir, 'output', 'trainer_log.jsonl'), 'utf8').trim().split('\n');
  assert.equal((JSON.parse(log[0]!) as { current_steps: number }).current_steps, ckpt + 1, 'training continued after the checkpoint');
  assert.match((await svc.refresh(resumed.id, { logFrom: 0 })).logChunk ?? '', new RegExp(`resumed from runs/${run.id}/output/checkpoint-${ckpt} at step ${ckpt}`));
});

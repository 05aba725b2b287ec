import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import { RunService } from '../../server/src/runs/launch';
import { FIXTURES } from '../helpers/fixtures';
import { makeProject, runSettings, SAMPLE_TRAIN, waitUntil } from '../helpers/runs';
import { torchPython } from '../helpers/sshd';

/**
 * The SkyPilot lifecycle against a STAND-IN `sky` executable on PATH
 * (test/fixtures/runs/sky-standin.js; SkyPilot itself cannot be installed offline). The stand-in
 * really runs the task's `run:` section on this machine, so the manifest check, run.sh, the
 * smoke trainer and the progress lines in the logs are exercised for real.
 */

const STANDIN = path.join(FIXTURES, 'runs', 'sky-standin.js');

function standIn(t: TestContext): { env: NodeJS.ProcessEnv; state: string } | undefined {
  const py = torchPython();
  if (!py) {
    if (process.env['CI'] === 'true') throw new Error('python3 with torch is required in CI');
    t.skip('python3 with torch (Debian python3-torch) is not installed');
    return undefined;
  }
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'tunekit-skybin-'));
  fs.symlinkSync(STANDIN, path.join(bin, 'sky'));
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'tunekit-skystate-'));
  return { env: { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}`, SKY_STANDIN_STATE: state, TUNEKIT_PYTHON: py }, state };
}

const SMOKE_SKY = `name: sky-smoke
recipe: smoke
datasets: [{path: data/train.jsonl}]
hyperparameters: {maxSteps: 12, loggingSteps: 3, batchSize: 2, gradientAccumulation: 1}
backend: {type: skypilot, accelerators: "T4:1", autostop: 10}
secrets: [TK_SKY_SECRET]
env: {TUNEKIT_SMOKE_STEP_SECONDS: "0.05"}
`;

test('SkyPilot lifecycle against the stand-in sky on PATH: launch, progress from the logs, completed, secret by name only', async (t) => {
  const s = standIn(t);
  if (!s) return;
  const p = makeProject(SMOKE_SKY, { 'data/train.jsonl': fs.readFileSync(SAMPLE_TRAIN) });
  const secret = 'sky-secret-value-93fd';
  const service = new RunService({ root: p.root, settings: runSettings(), env: s.env, getSecret: (n) => Promise.resolve(n === 'TK_SKY_SECRET' ? secret : undefined) });
  const run = await service.launch(p.configPath);
  assert.equal(run.skypilot?.cluster, 'tunekit-sky-smoke');
  assert.equal(run.skypilot?.jobId, '1');
  const final = await service.follow(run.id, { intervalMs: 200 });
  assert.equal(final.state, 'completed', final.detail);
  assert.equal(final.exitCode, 0);
  assert.equal(final.progress?.currentStep, 12);
  assert.equal(final.progress?.percentage, 100);
  const calls = fs.readFileSync(path.join(s.state, 'calls.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { argv: string[]; secretsPresent: string[] });
  const launchCall = calls.find((c) => c.argv[0] === 'launch')!;
  assert.deepEqual(launchCall.argv.slice(0, 2), ['launch', '-c']);
  assert.ok(launchCall.argv.includes('--down') && launchCall.argv.includes('-d'));
  assert.deepEqual(launchCall.secretsPresent, ['TK_SKY_SECRET'], 'the secret reached sky through its environment');
  assert.ok(!calls.some((c) => c.argv.join(' ').includes(secret)), 'the secret value is never in argv');
  assert.ok(calls.some((c) => c.argv[0] === 'queue') && calls.some((c) => c.argv[0] === 'logs'));
});

test('SkyPilot lifecycle against the stand-in sky on PATH: cancel is idempotent and reports CANCELLED', async (t) => {
  const s = standIn(t);
  if (!s) return;
  const p = makeProject(SMOKE_SKY.replace('maxSteps: 12', 'maxSteps: 100000').replace('secrets: [TK_SKY_SECRET]\n', ''), { 'data/train.jsonl': fs.readFileSync(SAMPLE_TRAIN) });
  const service = new RunService({ root: p.root, settings: runSettings(), env: s.env });
  const run = await service.launch(p.configPath);
  await waitUntil(async () => (await service.refresh(run.id)).run.progress, 'training progress in the logs', 60_000, 200);
  const cancelled = await service.cancel(run.id);
  assert.equal(cancelled.state, 'cancelled');
  const again = await service.cancel(run.id);
  assert.equal(again.state, 'cancelled');
});

test('SkyPilot lifecycle against the stand-in sky on PATH: a managed job launches with `sky jobs launch`', async (t) => {
  const s = standIn(t);
  if (!s) return;
  const p = makeProject(SMOKE_SKY.replace('autostop: 10}', 'autostop: 10, managed: true}').replace('secrets: [TK_SKY_SECRET]\n', ''), { 'data/train.jsonl': fs.readFileSync(SAMPLE_TRAIN) });
  const service = new RunService({ root: p.root, settings: runSettings(), env: s.env });
  const run = await service.launch(p.configPath);
  assert.equal(run.skypilot?.managed, true);
  const final = await service.follow(run.id, { intervalMs: 200 });
  assert.equal(final.state, 'completed', final.detail);
  const calls = fs.readFileSync(path.join(s.state, 'calls.jsonl'), 'utf8');
  assert.match(calls, /"argv":\["jobs","launch","-n","sky-smoke"/);
  assert.match(calls, /"argv":\["jobs","queue"/);
});

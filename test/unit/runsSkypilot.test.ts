import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { SkypilotBackend, parseSkyJson, parseSkyTable } from '../../server/src/runs/backends';
import { buildBundle } from '../../server/src/runs/bundle';
import { parseRunConfig } from '../../server/src/runs/configYaml';
import { RunService } from '../../server/src/runs/launch';
import type { RunConfig } from '../../server/src/runs/schema';
import { FIXTURES } from '../helpers/fixtures';
import { listFiles, makeProject, runSettings, SAMPLE_TRAIN, waitUntil } from '../helpers/runs';
import { torchPython } from '../helpers/sshd';

/**
 * SkyPilot cannot be installed here: the generated task YAML and argv are checked against golden
 * files (written from SkyPilot's documented task spec), and the lifecycle runs against a stand-in
 * `sky` executable on PATH (test/fixtures/runs/sky-standin.js) that really runs the task's `run:`
 * section, so run.sh, the manifest check and the progress lines are exercised for real.
 */

const GOLDEN = path.join(FIXTURES, 'runs');
const STANDIN = path.join(GOLDEN, 'sky-standin.js');

const CONFIG = `name: vlm-sky
model: Qwen/Qwen2-VL-7B-Instruct
template: qwen2_vl
datasets:
  - path: data/train.jsonl
backend:
  type: skypilot
  accelerators: "H100:8"
  infra: gcp/us-central1
  nodes: 2
  spot: true
  autostop: 45
secrets: [HF_TOKEN, WANDB_API_KEY]
env:
  NCCL_DEBUG: INFO
`;

function config(yaml: string): RunConfig {
  const p = parseRunConfig(yaml);
  assert.deepEqual(p.problems, []);
  return p.config!;
}

function golden(name: string, actual: string): void {
  const file = path.join(GOLDEN, name);
  if (process.env['UPDATE_FIXTURES'] === '1') fs.writeFileSync(file, actual);
  assert.equal(actual, fs.readFileSync(file, 'utf8'), `${name} differs from the golden file (UPDATE_FIXTURES=1 rewrites it; review the diff)`);
}

test('SkyPilot golden: task YAML (num_nodes, accelerators, spot, autostop, secrets by name, data in file_mounts)', async () => {
  const cfg = config(CONFIG);
  const p = makeProject(CONFIG, { 'data/train.jsonl': fs.readFileSync(SAMPLE_TRAIN) });
  const backend = new SkypilotBackend(cfg.backend as Extract<RunConfig['backend'], { type: 'skypilot' }>, cfg, {});
  const b = await buildBundle({ config: cfg, configPath: p.configPath, root: p.root, runId: 'vlm-sky-1', settings: runSettings(), gpusPerNode: backend.gpusPerNode, hooks: backend.hooks() });
  const task = fs.readFileSync(path.join(b.treeDir, 'runs/vlm-sky-1/task.yaml'), 'utf8').split(b.treeDir).join('<BUNDLE>');
  golden('skypilot-task.golden.yaml', task);
  const parsed = parseYaml(task) as { num_nodes: number; resources: Record<string, unknown>; secrets: Record<string, null>; file_mounts: Record<string, string>; run: string };
  assert.equal(parsed.num_nodes, 2);
  assert.deepEqual(parsed.resources, { accelerators: 'H100:8', infra: 'gcp/us-central1', use_spot: true, autostop: { idle_minutes: 45, down: true } });
  assert.deepEqual(parsed.secrets, { HF_TOKEN: null, WANDB_API_KEY: null });
  assert.deepEqual(parsed.file_mounts, { '~/tunekit/vlm-sky': '<BUNDLE>' });
  const runSh = fs.readFileSync(path.join(b.treeDir, 'runs/vlm-sky-1/run.sh'), 'utf8');
  assert.match(runSh, /--nnodes="\$SKYPILOT_NUM_NODES" --node_rank="\$SKYPILOT_NODE_RANK" --nproc_per_node="\$SKYPILOT_NUM_GPUS_PER_NODE"/);
  assert.match(runSh, /-m llamafactory\.launcher runs\/vlm-sky-1\/train\.yaml/);
  assert.ok(!listFiles(b.treeDir).some((f) => fs.readFileSync(path.join(b.treeDir, f), 'utf8').includes('HF_TOKEN=')), 'no secret value slot in the bundle');
});

test('SkyPilot golden: launch argv for a cluster (detached, autostop with teardown) and for a managed job', () => {
  const cfg = config(CONFIG);
  const cluster = new SkypilotBackend(cfg.backend as Extract<RunConfig['backend'], { type: 'skypilot' }>, cfg, {});
  const managedCfg = config(CONFIG.replace('autostop: 45', 'autostop: 45\n  managed: true'));
  const managed = new SkypilotBackend(managedCfg.backend as Extract<RunConfig['backend'], { type: 'skypilot' }>, managedCfg, {});
  golden('skypilot-argv.golden.json', JSON.stringify({ cluster: cluster.launchArgv('<TASK>'), managed: managed.launchArgv('<TASK>') }, null, 2) + '\n');
  for (const argv of [cluster.launchArgv('t.yaml'), managed.launchArgv('t.yaml')]) {
    assert.ok(argv.includes('-d') && argv.includes('-y'), 'never a blocking launch');
    assert.ok(!argv.some((a) => a.includes('=')), 'no secret value in argv');
  }
  const argv = cluster.launchArgv('t.yaml');
  assert.equal(argv[argv.indexOf('-i') + 1], '45');
});

test('sky output parsing: JSON of either key style, and the plain table', () => {
  assert.deepEqual(parseSkyJson('[{"job_id": 3, "status": "RUNNING"}, {"id": "4", "status": "JobStatus.SUCCEEDED"}]'), [
    { id: '3', status: 'RUNNING' },
    { id: '4', status: 'SUCCEEDED' },
  ]);
  assert.deepEqual(parseSkyTable('Job queue of cluster c\nID  NAME   SUBMITTED   STARTED  DURATION  RESOURCES  STATUS     LOG\n2   train  1 min ago   1 min    10s       1x[A100:1] FAILED_SETUP  ~/sky_logs\n1   train  5 mins ago  5 mins   1m        1x[A100:1] SUCCEEDED   ~/sky_logs\n'), [
    { id: '2', status: 'FAILED_SETUP' },
    { id: '1', status: 'SUCCEEDED' },
  ]);
});

function standIn(t: import('node:test').TestContext): { env: NodeJS.ProcessEnv; state: string } | undefined {
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

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { SkypilotBackend, parseSkyJson, parseSkyTable } from '../../server/src/runs/backends';
import { buildBundle } from '../../server/src/runs/bundle';
import { parseRunConfig } from '../../server/src/runs/configYaml';
import type { RunConfig } from '../../server/src/runs/schema';
import { FIXTURES } from '../helpers/fixtures';
import { listFiles, makeProject, runSettings, SAMPLE_TRAIN } from '../helpers/runs';

/**
 * SkyPilot cannot be installed here: the generated task YAML and argv are checked against golden
 * files (written from SkyPilot's documented task spec). The lifecycle runs against a stand-in `sky`
 * in test/integration/runsSkypilot.test.ts.
 */

const GOLDEN = path.join(FIXTURES, 'runs');

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

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { endMessage, runDescription, runTooltip, statusBarText } from '../../client/src/runs/present';
import { parseRunConfig } from '../../server/src/runs/configYaml';
import { newRunConfigYaml, suggestRunName, type NewRunConfig } from '../../server/src/runs/newConfig';
import type { RunRecord } from '../../server/src/runs/records';

const base: RunRecord = {
  id: 'smoke-20260101-000000-abcd',
  name: 'smoke',
  configPath: '/p/smoke.tunekit.yaml',
  recipe: 'smoke',
  backend: 'ssh',
  resources: 'ssh gpu-box: 1 node, 2 GPUs',
  runDir: 'runs/smoke-20260101-000000-abcd',
  progressFile: 'runs/x/output/trainer_log.jsonl',
  state: 'running',
  createdAt: '2026-01-01T00:00:00.000Z',
};

test('Runs view wording: progress, loss, elapsed / remaining, exit code of finished runs', () => {
  const running = { ...base, progress: { currentStep: 12, totalSteps: 30, percentage: 40, loss: 1.23456, elapsed: '0:00:10', remaining: '0:00:15' } };
  assert.equal(runDescription(running), 'running · 40% · loss 1.2346 · 0:00:10 elapsed, 0:00:15 left');
  assert.equal(runDescription({ ...running, state: 'failed', exitCode: 3 }), 'failed · 40% · loss 1.2346 · 0:00:10 elapsed · exit 3');
  assert.equal(runDescription({ ...base, state: 'queued', unreachable: 'ssh: connect refused' }), 'queued (unreachable)');
  assert.equal(statusBarText([running]), '$(sync~spin) smoke 40% loss 1.235');
  assert.equal(statusBarText([running, { ...base, id: 'b', state: 'queued' }]), '$(sync~spin) smoke 40% loss 1.235 (+1)');
  assert.equal(statusBarText([]), undefined);
  const tip = runTooltip({ ...running, slurmJobId: '42', detail: 'why' });
  assert.match(tip, /Recipe `smoke` on ssh gpu-box: 1 node, 2 GPUs/);
  assert.match(tip, /Slurm job 42/);
  assert.match(tip, /Step 12 of 30/);
});

test('the end-of-run notification says the real outcome', () => {
  assert.deepEqual(endMessage({ ...base, state: 'completed', exitCode: 0, progress: { currentStep: 30, totalSteps: 30, percentage: 100, loss: 0.5 } }), {
    level: 'info',
    text: 'Run smoke completed (exit code 0) on ssh gpu-box: 1 node, 2 GPUs after 30 steps, final loss 0.5000.',
  });
  assert.deepEqual(endMessage({ ...base, state: 'failed', exitCode: 137, detail: 'The trainer exited with code 137; see train.log.' }), { level: 'error', text: 'Run smoke failed (exit code 137): The trainer exited with code 137; see train.log.' });
  assert.equal(endMessage({ ...base, state: 'cancelled', exitCode: 143 }).level, 'warning');
  assert.match(endMessage({ ...base, state: 'lost', detail: 'The run wrapper stopped without recording an outcome.' }).text, /ended without recording an outcome/);
});

test('"Fine-tune on this dataset…" writes a valid run config for every backend', () => {
  const backends: NewRunConfig['backend'][] = [
    { type: 'ssh', host: 'me@gpu-box', gpus: 2 },
    { type: 'slurm', host: 'login', partition: 'gpu', nodes: 2, gpusPerNode: 8 },
    { type: 'slurm', nodes: 1, gpusPerNode: 0 },
    { type: 'skypilot', accelerators: 'A100:8', nodes: 1, managed: false, spot: false },
  ];
  for (const backend of backends) {
    for (const recipe of ['llamafactory', 'ms-swift', 'smoke'] as const) {
      const yaml = newRunConfigYaml({ name: 'my-data', datasetPath: 'my data: v2.jsonl', recipe, model: 'Qwen/Qwen2-VL-2B-Instruct', template: 'qwen2_vl', method: 'qlora', backend });
      const parsed = parseRunConfig(yaml);
      assert.deepEqual(parsed.problems, [], yaml);
      assert.equal(parsed.config!.datasets[0]!.path, 'my data: v2.jsonl');
      assert.equal(parsed.config!.backend.type, backend.type);
      assert.match(yaml, /^# Tunekit run config/);
    }
  }
  assert.equal(suggestRunName('/x/My Data (v2).jsonl'), 'my-data-v2');
  assert.equal(suggestRunName('/x/__.json'), 'run');
});

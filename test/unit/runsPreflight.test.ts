import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { LaunchRefusedError, redact, RunService } from '../../server/src/runs/launch';
import { formatPreflight } from '../../server/src/runs/preflight';
import { newRunId, projectRootFor, RunStore, type RunRecord } from '../../server/src/runs/records';
import { makeProject, runSettings, SAMPLE_TRAIN } from '../helpers/runs';

/** Pre-flight refuses before anything is uploaded: these tests need no ssh server at all. */

const CHAT = (q: string, a: string): string => JSON.stringify({ messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }] });

function lines(n: number, prefix = 'q'): string {
  return Array.from({ length: n }, (_, i) => CHAT(`${prefix} ${i}?`, `answer number ${i}.`)).join('\n') + '\n';
}

const CONFIG = (extra = ''): string => `name: pf
model: org/model
template: qwen2_vl
datasets:
  - path: data/train.jsonl
backend:
  type: ssh
  host: gpu-box.invalid
${extra}`;

test('a too-small dataset is refused with the reason, before any connection', async () => {
  const p = makeProject(CONFIG(), { 'data/train.jsonl': lines(12) });
  const svc = new RunService({ root: p.root, settings: runSettings() });
  const report = await svc.preflight(p.configPath);
  assert.equal(report.ok, false);
  assert.equal(report.datasets[0]!.records, 12);
  assert.match(report.blockers.join('\n'), /data\/train\.jsonl has 12 records; fine-tuning on fewer than 32 examples mostly memorises them/);
  await assert.rejects(svc.launch(p.configPath), (e: unknown) => e instanceof LaunchRefusedError && /has 12 records/.test(e.message));
  assert.deepEqual(svc.list(), [], 'a refused launch leaves no run record');
  // The threshold is a setting; the smoke recipe is exempt (it checks a backend, not a model).
  assert.equal((await new RunService({ root: p.root, settings: runSettings({ minRecords: 10 }) }).preflight(p.configPath)).ok, true);
  fs.writeFileSync(p.configPath, CONFIG().replace('template: qwen2_vl', 'template: qwen2_vl\nrecipe: smoke'));
  assert.equal((await svc.preflight(p.configPath)).ok, true);
});

test('fewer records than one optimisation step is refused, naming the arithmetic', async () => {
  const p = makeProject(CONFIG('hyperparameters: {batchSize: 8, gradientAccumulation: 8}\n').replace('host: gpu-box.invalid', 'host: gpu-box.invalid\n  gpus: 2'), { 'data/train.jsonl': lines(40) });
  const report = await new RunService({ root: p.root, settings: runSettings() }).preflight(p.configPath);
  assert.match(report.blockers.join('\n'), /40 records, fewer than one optimisation step takes \(batchSize 8 × gradientAccumulation 8 × 2 GPUs = 128\)/);
});

test('dataset errors stop the launch with a summary; warnings stop it unless allowed', async () => {
  const bad = lines(40) + '{"messages": [{"role": "user"}]}\n';
  const p = makeProject(CONFIG(), { 'data/train.jsonl': bad });
  const report = await new RunService({ root: p.root, settings: runSettings() }).preflight(p.configPath);
  assert.equal(report.ok, false);
  assert.ok(report.datasets[0]!.errors > 0);
  assert.match(report.datasets[0]!.problems[0]!, /^41:\d+ error /);
  const text = formatPreflight(report, p.root);
  assert.match(text, /✖ data\/train\.jsonl: 41 records/);
  assert.match(text, /Launch refused:\n {4}- data\/train\.jsonl: \d+ errors? \(fix them first/);
  assert.match(text, /Runs on: ssh gpu-box\.invalid: 1 node, 1 GPU · recipe llamafactory · model org\/model/);

  // A duplicate record is a warning: refused by default, allowed by tunekit.runs.allowWarnings.
  const dup = makeProject(CONFIG(), { 'data/train.jsonl': lines(40) + CHAT('q 1?', 'answer number 1.') + '\n' });
  const strict = await new RunService({ root: dup.root, settings: runSettings() }).preflight(dup.configPath);
  assert.ok(strict.datasets[0]!.warnings > 0, JSON.stringify(strict.datasets[0]));
  assert.equal(strict.ok, false);
  assert.match(strict.blockers.join('\n'), /set tunekit\.runs\.allowWarnings to launch anyway/);
  const lenient = await new RunService({ root: dup.root, settings: runSettings({ allowWarnings: true }) }).preflight(dup.configPath);
  assert.equal(lenient.ok, true, lenient.blockers.join('\n'));
  assert.match(lenient.notes.join('\n'), /allowed by tunekit\.runs\.allowWarnings/);
});

test('a missing dataset file, a broken config and a secret without a value are blockers', async () => {
  const p = makeProject(CONFIG('secrets: [HF_TOKEN]\n').replace('data/train.jsonl', 'data/none.jsonl'));
  const report = await new RunService({ root: p.root, settings: runSettings(), getSecret: () => Promise.resolve(undefined) }).preflight(p.configPath);
  assert.match(report.blockers.join('\n'), /data\/none\.jsonl: no such file/);
  assert.match(report.blockers.join('\n'), /Secret HF_TOKEN has no value; set it with "Tunekit: Set Secret"/);
  const q = makeProject('name: x\nmethod: lorra\n');
  const r2 = await new RunService({ root: q.root, settings: runSettings() }).preflight(q.configPath);
  assert.equal(r2.ok, false);
  assert.match(r2.blockers.join('\n'), /run\.tunekit\.yaml:2:9 method must be one of lora, qlora, full/);
});

test('the sample run config passes pre-flight as it is', async () => {
  const sample = path.join(path.dirname(SAMPLE_TRAIN), '..', 'smoke.tunekit.yaml');
  const report = await new RunService({ root: path.dirname(sample), settings: runSettings() }).preflight(sample);
  assert.equal(report.ok, true, report.blockers.join('\n'));
  assert.equal(report.resources, 'ssh 127.0.0.1: 1 node, CPU only');
});

test('an unchanged clean dataset is not validated again; a changed one is', async () => {
  const p = makeProject(CONFIG(), { 'data/train.jsonl': lines(40) });
  const svc = new RunService({ root: p.root, settings: runSettings() });
  assert.equal((await svc.preflight(p.configPath)).datasets[0]!.cached, undefined);
  const again = await svc.preflight(p.configPath);
  assert.equal(again.datasets[0]!.cached, true);
  assert.equal(again.datasets[0]!.records, 40);
  assert.match(formatPreflight(again, p.root), /unchanged since the last check/);
  fs.appendFileSync(path.join(p.root, 'data/train.jsonl'), '{"messages": [{"role": "user"}]}\n');
  const changed = await svc.preflight(p.configPath);
  assert.equal(changed.datasets[0]!.cached, undefined);
  assert.equal(changed.ok, false, 'the new broken record is found');
  assert.equal((await svc.preflight(p.configPath)).datasets[0]!.cached, undefined, 'a dataset with problems is always checked again');
  // Other settings, other answer: the cache is keyed by them too.
  assert.equal((await new RunService({ root: p.root, settings: runSettings({}, { maxTokens: 77 }) }).preflight(p.configPath)).datasets[0]!.cached, undefined);
});

test('run records: ids, store, lookup by prefix and by name, project root discovery', () => {
  const p = makeProject(CONFIG());
  const store = new RunStore(p.root);
  const id = newRunId('pf', new Date('2026-01-02T03:04:05Z'));
  assert.match(id, /^pf-20260102-030405-[0-9a-f]{4}$/);
  const rec: RunRecord = { id, name: 'pf', configPath: p.configPath, recipe: 'smoke', backend: 'ssh', resources: 'x', runDir: `runs/${id}`, progressFile: '', state: 'running', createdAt: new Date().toISOString() };
  store.save(rec);
  assert.equal(store.find(id.slice(0, 12))?.id, id);
  assert.equal(store.find('pf')?.id, id);
  assert.deepEqual(store.activeFor(p.configPath).map((r) => r.id), [id]);
  store.save({ ...rec, state: 'completed' });
  assert.deepEqual(store.activeFor(p.configPath), []);
  assert.equal(store.get('../../etc/passwd'), undefined);
  assert.throws(() => store.save({ ...rec, id: '../escape' }), /not a run id/);
  fs.mkdirSync(path.join(p.root, 'sub', 'deeper'), { recursive: true });
  assert.equal(projectRootFor(path.join(p.root, 'sub', 'deeper', 'x.tunekit.yaml')), p.root);
});

test('a launch interrupted while preparing is reported as lost, not left running forever', async () => {
  const p = makeProject(CONFIG(), { 'data/train.jsonl': lines(40) });
  const store = new RunStore(p.root);
  const base: RunRecord = { id: 'pf-x', name: 'pf', configPath: p.configPath, recipe: 'smoke', backend: 'ssh', resources: 'x', runDir: 'runs/pf-x', progressFile: '', state: 'syncing', createdAt: new Date().toISOString() };
  // A pid no process has: the launcher died.
  store.save({ ...base, launcher: { pid: 2 ** 22 + 12345, host: os.hostname() } });
  const svc = new RunService({ root: p.root, settings: runSettings() });
  const u = await svc.refresh('pf-x');
  assert.equal(u.run.state, 'lost');
  assert.match(u.run.detail!, /launch was interrupted/);
  assert.deepEqual(svc.unfinished(), []);
  // A launcher that is alive (this test) keeps the run as it is.
  store.save({ ...base, id: 'pf-y', launcher: { pid: process.ppid, host: os.hostname() } });
  assert.equal((await svc.refresh('pf-y')).run.state, 'syncing');
});

test('redact hides every secret value, wherever it appears', () => {
  assert.equal(redact('token=abc123 and abc123!', ['abc123']), 'token=*** and ***!');
  assert.equal(redact('short ab stays', ['ab']), 'short ab stays');
});

import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_SETTINGS } from '../../server/src/core/settings';
import { createBackend } from '../../server/src/runs/backends';
import { buildBundle, type BackendHooks } from '../../server/src/runs/bundle';
import { convertRecordText } from '../../server/src/runs/convert';
import { parseRunConfig } from '../../server/src/runs/configYaml';
import { latestProgress, parseProgressLine, parseWrapperStatus, splitSections } from '../../server/src/runs/progress';
import type { RunConfig } from '../../server/src/runs/schema';
import { SshTransport } from '../../server/src/runs/transport';
import { pngBytes } from '../helpers/images';
import { liveProcessesInGroup } from '../helpers/sshd';
import { listFiles, makeProject, runSettings, waitUntil } from '../helpers/runs';

const ctx = { settings: DEFAULT_SETTINGS, fileDir: '/data/project' };
const keep = (abs: string): string => `M:${abs}`;

function config(yaml: string): RunConfig {
  const p = parseRunConfig(yaml);
  assert.deepEqual(p.problems, []);
  return p.config!;
}

test('convert: ShareGPT keeps its placeholders and maps images', () => {
  const r = convertRecordText(JSON.stringify({ conversations: [{ from: 'human', value: '<image>\nWhat is it?' }, { from: 'gpt', value: 'A cat.' }], images: ['img/cat.png'] }), ctx, keep);
  assert.deepEqual(r, { messages: [{ role: 'user', content: '<image>\nWhat is it?' }, { role: 'assistant', content: 'A cat.' }], images: ['img/cat.png'] });
});

test('convert: OpenAI image parts become <image> placeholders in their turn, in order', () => {
  const rec = {
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: [{ type: 'text', text: 'Compare.' }, { type: 'image_url', image_url: { url: 'https://x.invalid/a.png' } }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] },
      { role: 'assistant', content: 'Same.' },
    ],
  };
  const r = convertRecordText(JSON.stringify(rec), ctx, keep)!;
  assert.deepEqual(r.messages, [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: '<image><image>Compare.' },
    { role: 'assistant', content: 'Same.' },
  ]);
  assert.deepEqual(r.images, ['https://x.invalid/a.png', 'data:image/png;base64,AAAA']);
});

test('convert: MiniCPM-V numbered placeholders become plain <image> in text order', () => {
  const rec = { image: { '<image_00>': 'a.png', '<image_01>': 'b.png' }, conversations: [{ role: 'user', content: 'First <image_01> then <image_00>?' }, { role: 'assistant', content: 'Yes.' }] };
  const r = convertRecordText(JSON.stringify(rec), ctx, keep)!;
  assert.equal(r.messages[0]!.content, 'First <image> then <image>?');
  assert.deepEqual(r.images, ['b.png', 'a.png']);
});

test('convert: Alpaca becomes a user/assistant exchange; a record with no answer is dropped', () => {
  const r = convertRecordText(JSON.stringify({ instruction: 'Add.', input: '2+2', output: '4' }), ctx, keep)!;
  assert.equal(r.messages.at(-1)!.role, 'assistant');
  assert.equal(r.messages.at(-1)!.content, '4');
  assert.ok(r.messages.some((m) => m.role === 'user' && m.content.includes('2+2')));
  assert.equal(convertRecordText(JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }), ctx, keep), undefined);
  assert.equal(convertRecordText('{broken', ctx, keep), undefined);
});

const LF_CONFIG = `name: lf
model: Qwen/Qwen2-VL-2B-Instruct
template: qwen2_vl
method: qlora
hyperparameters:
  loraTargets: [q_proj, v_proj]
  maxSteps: 100
datasets:
  - path: data/chat.jsonl
    ratio: 3
  - path: data/llava.json
backend:
  type: ssh
  host: gpu-box
  gpus: 2
`;

function lfProject(): { root: string; configPath: string } {
  const llava = [
    { image: 'images/red.png', conversations: [{ from: 'human', value: '<image>\nColour?' }, { from: 'gpt', value: 'Red.' }] },
    { image: 'images/blue.png', conversations: [{ from: 'human', value: '<image>\nColour?' }, { from: 'gpt', value: 'Blue.' }] },
  ];
  return makeProject(LF_CONFIG, {
    'data/chat.jsonl': '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}\n',
    'data/llava.json': JSON.stringify(llava, null, 1),
    'data/images/red.png': pngBytes(8, 8, [255, 0, 0]),
    'data/images/blue.png': pngBytes(8, 8, [0, 0, 255]),
  });
}

async function bundleOf(p: { root: string; configPath: string }, runId: string, hooks?: BackendHooks) {
  const cfg = config(fs.readFileSync(p.configPath, 'utf8'));
  const backend = createBackend(cfg);
  const messages: string[] = [];
  const b = await buildBundle({ config: cfg, configPath: p.configPath, root: p.root, runId, settings: runSettings(), gpusPerNode: backend.gpusPerNode, hooks: hooks ?? backend.hooks(runId), onProgress: (m) => messages.push(m) });
  return { b, messages, cfg };
}

test('bundle (LLaMA-Factory): dataset_info.json, training YAML with explicit media_dir, media copied and rewritten', async () => {
  const p = lfProject();
  const { b } = await bundleOf(p, 'lf-1');
  const tree = b.treeDir;
  assert.deepEqual(listFiles(tree), [
    'data/0-chat.jsonl',
    'data/1-llava.jsonl',
    'data/dataset_info.json',
    'media/data/images/blue.png',
    'media/data/images/red.png',
    'runs/lf-1/MANIFEST.sha256',
    'runs/lf-1/run.sh',
    'runs/lf-1/train.yaml',
  ]);
  const info = JSON.parse(fs.readFileSync(path.join(tree, 'data/dataset_info.json'), 'utf8')) as Record<string, { file_name: string; formatting: string; columns: Record<string, string> }>;
  assert.deepEqual(Object.keys(info), ['tk0_chat', 'tk1_llava']);
  assert.equal(info['tk1_llava']!.file_name, '1-llava.jsonl');
  assert.equal(info['tk1_llava']!.formatting, 'sharegpt');
  assert.equal(info['tk1_llava']!.columns['images'], 'images');
  const llava = fs.readFileSync(path.join(tree, 'data/1-llava.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { images: string[] });
  assert.deepEqual(llava.map((r) => r.images), [['media/data/images/red.png'], ['media/data/images/blue.png']]);
  assert.deepEqual(fs.readFileSync(path.join(tree, 'media/data/images/red.png')), fs.readFileSync(path.join(p.root, 'data/images/red.png')));
  const train = parseYaml(fs.readFileSync(path.join(tree, 'runs/lf-1/train.yaml'), 'utf8')) as Record<string, unknown>;
  assert.equal(train['media_dir'], '.');
  assert.equal(train['dataset_dir'], 'data');
  assert.equal(train['dataset'], 'tk0_chat,tk1_llava');
  assert.equal(train['template'], 'qwen2_vl');
  assert.equal(train['finetuning_type'], 'lora');
  assert.equal(train['quantization_bit'], 4);
  assert.equal(train['lora_target'], 'q_proj,v_proj');
  assert.equal(train['max_steps'], 100);
  assert.equal(train['output_dir'], 'runs/lf-1/output');
  assert.equal(train['interleave_probs'], '0.7500,0.2500');
  const runSh = fs.readFileSync(path.join(tree, 'runs/lf-1/run.sh'), 'utf8');
  assert.match(runSh, /llamafactory-cli train runs\/lf-1\/train\.yaml/);
  assert.match(runSh, /export CUDA_VISIBLE_DEVICES=0,1/);
  assert.match(runSh, /export FORCE_TORCHRUN=1/);
  assert.ok(fs.statSync(path.join(tree, 'runs/lf-1/run.sh')).mode & 0o100);
});

test('bundle: the manifest lists the sha256 of every file, checkable by sha256sum', async () => {
  const p = lfProject();
  const { b } = await bundleOf(p, 'lf-2');
  const lines = fs.readFileSync(path.join(b.treeDir, b.manifest), 'utf8').trim().split('\n');
  assert.equal(lines.length, b.files.length);
  for (const line of lines) {
    const [sum, rel] = line.split(/ {2}/);
    assert.equal(sum, crypto.createHash('sha256').update(fs.readFileSync(path.join(b.treeDir, rel!))).digest('hex'), rel);
  }
});

test('bundle: a second launch of unchanged data converts nothing and keeps every data file untouched', async () => {
  const p = lfProject();
  const first = await bundleOf(p, 'lf-3');
  assert.ok(first.messages.some((m) => m.startsWith('Converting')));
  const stamp = (rel: string): number => fs.statSync(path.join(first.b.treeDir, rel)).mtimeMs;
  const before = ['data/0-chat.jsonl', 'data/1-llava.jsonl', 'media/data/images/red.png'].map(stamp);
  const second = await bundleOf(p, 'lf-4');
  assert.deepEqual(second.messages.filter((m) => m.startsWith('Converting')), []);
  assert.deepEqual(['data/0-chat.jsonl', 'data/1-llava.jsonl', 'media/data/images/red.png'].map(stamp), before);
  assert.ok(!fs.existsSync(path.join(first.b.treeDir, 'runs/lf-3')), 'the previous run folder is not part of the new bundle');
  // Changing a dataset re-converts just that one.
  fs.appendFileSync(path.join(p.root, 'data/chat.jsonl'), '{"messages":[{"role":"user","content":"bye"},{"role":"assistant","content":"ciao"}]}\n');
  const third = await bundleOf(p, 'lf-5');
  assert.deepEqual(third.messages.filter((m) => m.startsWith('Converting')), ['Converting data/chat.jsonl']);
  assert.equal(third.b.datasets[0]!.records, 2);
});

test('bundle (ms-swift, two stages): stage 1 trains the aligner only, stage 2 starts from it; ratios become #counts', async () => {
  const p = makeProject(
    `name: sw
model: Qwen/Qwen2-VL-2B-Instruct
recipe: ms-swift
datasets:
  - path: a.jsonl
    stage: 1
  - path: b.jsonl
    stage: 2
    ratio: 1
  - path: c.jsonl
    stage: 2
    ratio: 3
backend:
  type: ssh
  host: box
`,
    {
      'a.jsonl': '{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}\n',
      'b.jsonl': '{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}\n'.repeat(4),
      'c.jsonl': '{"messages":[{"role":"user","content":"c"},{"role":"assistant","content":"d"}]}\n'.repeat(4),
    },
  );
  const { b } = await bundleOf(p, 'sw-1');
  assert.equal(b.plan.steps.length, 2);
  const [s1, s2] = b.plan.steps.map((s) => s.argv.map(String));
  assert.deepEqual(s1!.slice(0, 2), ['swift', 'sft']);
  assert.ok(s1!.join(' ').includes('--freeze_llm true --freeze_vit true --freeze_aligner false'));
  assert.ok(s1!.join(' ').includes('--output_dir runs/sw-1/output/stage1'));
  const d = s2!.indexOf('--dataset');
  assert.deepEqual(s2!.slice(d + 1, d + 3), ['data/1-b.jsonl#2', 'data/2-c.jsonl#6']);
  assert.ok(s2!.join(' ').includes('--train_type lora'));
  assert.match(fs.readFileSync(path.join(b.treeDir, 'runs/sw-1/run.sh'), 'utf8'), /--model "\$\(ls -d runs\/sw-1\/output\/stage1\/checkpoint-\* \| sort -V \| tail -n 1\)"/);
  assert.equal(b.plan.progressFile, 'runs/sw-1/output/logging.jsonl');
});

test('bundle (Slurm): job.sh carries the #SBATCH lines and run.sh starts srun torchrun with a rendezvous', async () => {
  const p = makeProject(
    `name: sl
recipe: smoke
datasets: [{path: a.jsonl}]
backend: {type: slurm, host: login, partition: gpu, nodes: 2, gpusPerNode: 4, timeLimit: "1-00:00:00", account: proj1}
`,
    { 'a.jsonl': '{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}\n' },
  );
  const { b } = await bundleOf(p, 'sl-1');
  const job = fs.readFileSync(path.join(b.treeDir, 'runs/sl-1/job.sh'), 'utf8');
  for (const l of ['#SBATCH --nodes=2', '#SBATCH --ntasks-per-node=1', '#SBATCH --gpus-per-node=4', '#SBATCH --partition=gpu', '#SBATCH --time=1-00:00:00', '#SBATCH --account=proj1', '#SBATCH --output=runs/sl-1/slurm-%j.out']) assert.ok(job.includes(l), l);
  assert.match(job, /exec bash runs\/sl-1\/run\.sh/);
  const runSh = fs.readFileSync(path.join(b.treeDir, 'runs/sl-1/run.sh'), 'utf8');
  assert.match(runSh, /srun --ntasks-per-node=1 --kill-on-bad-exit=1 "\$TK_PY" -m torch\.distributed\.run --nnodes="\$SLURM_NNODES" --nproc_per_node=4 --redirects=1 --tee=1 --rdzv_id="\$SLURM_JOB_ID" --rdzv_backend=c10d --rdzv_endpoint="\$TK_HEAD:\$TK_PORT" runs\/sl-1\/smoke_train\.py/);
  assert.match(runSh, /TK_HEAD=\$\(scontrol show hostnames/);
});

// ---------------------------------------------------------------------------------------------
// run.sh, run for real with bash on this machine.

async function runWrapper(command: string[], opts: { term?: (statusDir: string) => Promise<boolean> } = {}): Promise<{ dir: string; status: ReturnType<typeof parseWrapperStatus>; log: string }> {
  const yaml = `name: w\nrecipe: command\ncommand: ${JSON.stringify(command)}\ndatasets: [{path: a.jsonl}]\nbackend: {type: ssh, host: x, gpus: 0}\n`;
  const p = makeProject(yaml, { 'a.jsonl': '{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}\n' });
  const cfg = config(yaml);
  const backend = createBackend(cfg);
  const b = await buildBundle({ config: cfg, configPath: p.configPath, root: p.root, runId: 'w-1', settings: runSettings(), gpusPerNode: 0, hooks: backend.hooks('w-1'), graceSeconds: 2 });
  const runDir = path.join(b.treeDir, 'runs/w-1');
  const child = spawn('setsid', [path.join(runDir, 'run.sh')], { stdio: 'ignore' });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  if (opts.term) {
    const sent = await opts.term(runDir);
    if (sent) process.kill(Number(fs.readFileSync(path.join(runDir, 'pid'), 'utf8')), 'SIGTERM');
  }
  await exited;
  const status = parseWrapperStatus(fs.readFileSync(path.join(runDir, 'status.json'), 'utf8'));
  return { dir: runDir, status, log: fs.readFileSync(path.join(runDir, 'train.log'), 'utf8') };
}

test('run.sh records "completed" with exit code 0 and tees the trainer output to train.log', async () => {
  const r = await runWrapper(['bash', '-c', 'echo hello from the trainer; mkdir -p "$TUNEKIT_OUTPUT_DIR"; echo done > "$TUNEKIT_OUTPUT_DIR/out.txt"']);
  assert.equal(r.status?.state, 'completed');
  assert.equal(r.status?.exitCode, 0);
  assert.ok(r.status?.startedAt && r.status.endedAt && r.status.endedAt >= r.status.startedAt);
  assert.match(r.log, /hello from the trainer/);
  assert.match(r.log, /tunekit: completed/);
  assert.equal(fs.readFileSync(path.join(r.dir, 'output/out.txt'), 'utf8'), 'done\n');
});

test('run.sh records "failed" with the trainer\'s own exit code', async () => {
  const r = await runWrapper(['bash', '-c', 'echo boom >&2; exit 3']);
  assert.equal(r.status?.state, 'failed');
  assert.equal(r.status?.exitCode, 3);
  assert.match(r.log, /boom/);
});

test('run.sh turns TERM into a kill of the whole trainer process group, even children that ignore TERM', async () => {
  let pgid = 0;
  const r = await runWrapper(['bash', '-c', "trap '' TERM; sleep 300 & sleep 301 & echo started; wait"], {
    term: async (runDir) => {
      await waitUntil(() => fs.existsSync(path.join(runDir, 'trainer.pgid')) && fs.readFileSync(path.join(runDir, 'train.log'), 'utf8').includes('started'), 'the trainer to start', 20_000);
      pgid = Number(fs.readFileSync(path.join(runDir, 'trainer.pgid'), 'utf8'));
      assert.ok(liveProcessesInGroup(pgid).length >= 3, 'trainer, and two sleeps');
      return true;
    },
  });
  assert.equal(r.status?.state, 'cancelled');
  assert.deepEqual(liveProcessesInGroup(pgid), [], 'no process of the trainer group survives');
});

test('progress: LLaMA-Factory and ms-swift log lines, status.json and report sections', () => {
  assert.deepEqual(parseProgressLine('{"current_steps": 5, "total_steps": 20, "loss": 1.5, "lr": 0.0001, "epoch": 0.25, "percentage": 25.0, "elapsed_time": "0:00:10", "remaining_time": "0:00:30"}'), {
    currentStep: 5,
    totalSteps: 20,
    percentage: 25,
    loss: 1.5,
    learningRate: 0.0001,
    epoch: 0.25,
    elapsed: '0:00:10',
    remaining: '0:00:30',
  });
  const swift = parseProgressLine('{"loss": 2.0, "learning_rate": 1e-5, "epoch": 1.0, "global_step/max_steps": "30/120", "percentage": "25.00%", "elapsed_time": "1m", "remaining_time": "3m"}');
  assert.equal(swift?.currentStep, 30);
  assert.equal(swift?.totalSteps, 120);
  assert.equal(swift?.percentage, 25);
  assert.equal(parseProgressLine('{"train_runtime": 12}'), undefined);
  assert.equal(latestProgress('x\n[tunekit-progress] {"current_steps": 1, "total_steps": 2}\n[tunekit-progress] {"current_steps": 2, "total_steps": 2}\n', '[tunekit-progress] ')?.currentStep, 2);
  assert.deepEqual(parseWrapperStatus('{"state":"failed","exitCode":3,"pid":10,"trainerPgid":null,"host":"h","startedAt":1,"endedAt":2,"slurmJobId":null}'), { state: 'failed', exitCode: 3, pid: 10, host: 'h', startedAt: 1, endedAt: 2 });
  assert.equal(parseWrapperStatus('{"state":"bogus"}'), undefined);
  assert.deepEqual(splitSections('@@a\n1\n2\n@@b2\n\n@@log\n@@a\nlog text\n'), { a: '1\n2', b2: '', log: '@@a\nlog text\n' });
});

test('bundle (LLaMA-Factory, relaunch): resume_from_checkpoint; a finished stage 1 is not trained again', async () => {
  const p = lfProject();
  const cfg = config(fs.readFileSync(p.configPath, 'utf8'));
  const backend = createBackend(cfg);
  const b = await buildBundle({ config: cfg, configPath: p.configPath, root: p.root, runId: 'lf-r', settings: runSettings(), gpusPerNode: 2, hooks: backend.hooks('lf-r'), resume: { checkpoint: 'runs/lf-old/output/checkpoint-40' } });
  const train = parseYaml(fs.readFileSync(path.join(b.treeDir, 'runs/lf-r/train.yaml'), 'utf8')) as Record<string, unknown>;
  assert.equal(train['resume_from_checkpoint'], 'runs/lf-old/output/checkpoint-40');
  assert.equal(train['output_dir'], 'runs/lf-r/output');

  const two = makeProject(LF_CONFIG.replace('  - path: data/chat.jsonl\n    ratio: 3\n  - path: data/llava.json\n', '  - path: data/chat.jsonl\n    stage: 1\n  - path: data/llava.json\n    stage: 2\n'), {
    'data/chat.jsonl': '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}\n',
    'data/llava.json': '[{"conversations":[{"from":"human","value":"hi"},{"from":"gpt","value":"yo"}]}]',
  });
  const cfg2 = config(fs.readFileSync(two.configPath, 'utf8'));
  const fresh = await buildBundle({ config: cfg2, configPath: two.configPath, root: two.root, runId: 't-1', settings: runSettings(), gpusPerNode: 1, hooks: createBackend(cfg2).hooks('t-1') });
  assert.deepEqual(fresh.plan.steps.map((s) => s.label), ['LLaMA-Factory stage 1', 'LLaMA-Factory stage 2']);
  const s1 = parseYaml(fs.readFileSync(path.join(fresh.treeDir, 'runs/t-1/train_stage1.yaml'), 'utf8')) as Record<string, unknown>;
  assert.equal(s1['finetuning_type'], 'full');
  assert.equal(s1['freeze_language_model'], true);
  assert.equal(s1['dataset'], 'tk0_chat');
  const s2 = parseYaml(fs.readFileSync(path.join(fresh.treeDir, 'runs/t-1/train_stage2.yaml'), 'utf8')) as Record<string, unknown>;
  assert.equal(s2['model_name_or_path'], 'runs/t-1/output/stage1');
  assert.equal(s2['dataset'], 'tk1_llava');
  const resumed = await buildBundle({ config: cfg2, configPath: two.configPath, root: two.root, runId: 't-2', settings: runSettings(), gpusPerNode: 1, hooks: createBackend(cfg2).hooks('t-2'), resume: { checkpoint: 'runs/t-1/output/checkpoint-9', stage: 2, stage1Output: 'runs/t-1/output/stage1' } });
  assert.deepEqual(resumed.plan.steps.map((s) => s.label), ['LLaMA-Factory stage 2']);
  const r2 = parseYaml(fs.readFileSync(path.join(resumed.treeDir, 'runs/t-2/train_stage2.yaml'), 'utf8')) as Record<string, unknown>;
  assert.equal(r2['model_name_or_path'], 'runs/t-1/output/stage1');
  assert.equal(r2['resume_from_checkpoint'], 'runs/t-1/output/checkpoint-9');
});

test('ssh and rsync argv: the user ssh config (-F), no prompts, the host after "--", never a shell string', () => {
  const t = new SshTransport('me@gpu box', { configFile: '/tmp/my ssh config' });
  const push = t.pushArgv('/local/tree', '/remote/dir with space', ['--delete']);
  assert.deepEqual(push.slice(0, 4), ['rsync', '-a', '-s', '--partial']);
  assert.equal(push[push.indexOf('-e') + 1], "ssh -F '/tmp/my ssh config' -o BatchMode=yes -o ConnectTimeout=15 -o ServerAliveInterval=15 -o ServerAliveCountMax=3");
  assert.deepEqual(push.slice(-3), ['--', '/local/tree/', 'me@gpu box:/remote/dir with space/']);
  const term = t.terminalArgv('/remote/dir; rm -rf ~');
  assert.deepEqual(term.slice(-4), ['-t', '--', 'me@gpu box', "cd '/remote/dir; rm -rf ~' && exec \"$SHELL\" -l"]);
  assert.ok(term.includes('BatchMode=no'), 'an interactive terminal may ask for a passphrase');
  assert.throws(() => new SshTransport('-oProxyCommand=touch /tmp/x'), /starts with "-"/);
});

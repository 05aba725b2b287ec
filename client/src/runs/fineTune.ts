import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseRunConfig } from '../../../server/src/runs/configYaml';
import { MODEL_PRESETS, newRunConfigYaml, suggestRunName, type NewBackend, type NewRunConfig } from '../../../server/src/runs/newConfig';
import type { Method, RecipeName } from '../../../server/src/runs/schema';

/**
 * "Fine-tune on this dataset…": a few quick picks, then a run config written next to the
 * dataset and opened, where the schema's hovers and the "Launch run" CodeLens take over.
 */
export async function fineTuneOnDataset(dataset: vscode.Uri): Promise<vscode.Uri | undefined> {
  const recipe = await pick<RecipeName>('Which trainer?', [
    { label: 'LLaMA-Factory', description: 'llamafactory-cli train (LoRA, QLoRA, full; Qwen2-VL, LLaVA, MiniCPM-V…)', value: 'llamafactory' },
    { label: 'ms-swift', description: 'swift sft', value: 'ms-swift' },
    { label: 'Smoke test', description: 'a tiny PyTorch model for a few steps: checks the backend in a minute', value: 'smoke' },
  ]);
  if (!recipe) return undefined;
  let model: string | undefined;
  let template: string | undefined;
  let method: Method = 'lora';
  if (recipe !== 'smoke') {
    const preset = await pick<(typeof MODEL_PRESETS)[number] | undefined>('Base model', [...MODEL_PRESETS.map((p) => ({ label: p.label, description: p.model, value: p })), { label: 'Other…', description: 'a Hugging Face id or a path on the remote machine', value: undefined }], true);
    if (preset === null) return undefined;
    model = preset?.model ?? (await vscode.window.showInputBox({ prompt: 'Base model: a Hugging Face id or a path on the remote machine', placeHolder: 'Qwen/Qwen2-VL-2B-Instruct', ignoreFocusOut: true }));
    if (!model) return undefined;
    template = preset?.template;
    if (recipe === 'llamafactory' && !template) {
      template = await vscode.window.showInputBox({ prompt: 'LLaMA-Factory chat template for this model', placeHolder: 'qwen2_vl, llava, minicpm_v, llama3…', ignoreFocusOut: true });
      if (!template) return undefined;
    }
    const m = await pick<Method>('Method', [
      { label: 'LoRA', description: 'train a small adapter', value: 'lora' },
      { label: 'QLoRA', description: 'LoRA on a 4-bit quantised model (less GPU memory)', value: 'qlora' },
      { label: 'Full', description: 'train every weight', value: 'full' },
    ]);
    if (!m) return undefined;
    method = m;
  }
  const backend = await askBackend(recipe);
  if (!backend) return undefined;
  const dir = path.dirname(dataset.fsPath);
  const name = await vscode.window.showInputBox({
    prompt: 'Run name (names the remote folder and the job)',
    value: suggestRunName(dataset.fsPath),
    ignoreFocusOut: true,
    validateInput: (v) => (/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(v) ? (fs.existsSync(path.join(dir, `${v}.tunekit.yaml`)) ? `${v}.tunekit.yaml already exists here; choose another name` : undefined) : 'Letters, digits, ".", "_" and "-", starting with a letter or digit'),
  });
  if (!name) return undefined;
  const config: NewRunConfig = { name, datasetPath: path.basename(dataset.fsPath), recipe, method, backend, ...(model ? { model } : {}), ...(template ? { template } : {}) };
  const yaml = newRunConfigYaml(config);
  const problems = parseRunConfig(yaml).problems;
  if (problems.length) {
    void vscode.window.showErrorMessage(`The answers do not make a valid run config: ${problems.map((p) => p.message).join(' ')}`);
    return undefined;
  }
  const target = vscode.Uri.file(path.join(dir, `${name}.tunekit.yaml`));
  fs.writeFileSync(target.fsPath, yaml);
  await vscode.window.showTextDocument(target);
  return target;
}

async function askBackend(recipe: RecipeName): Promise<NewBackend | undefined> {
  const type = await pick<NewBackend['type']>('Where should it run?', [
    { label: 'ssh', description: 'your own GPU machine', value: 'ssh' },
    { label: 'Slurm', description: 'a cluster, through its login node', value: 'slurm' },
    { label: 'SkyPilot', description: 'any cloud or Kubernetes, torn down when idle', value: 'skypilot' },
  ]);
  if (!type) return undefined;
  const defaultGpus = recipe === 'smoke' ? '0' : '1';
  const count = (v: string): string | undefined => (/^\d+$/.test(v) ? undefined : 'A whole number');
  if (type === 'ssh') {
    const host = await vscode.window.showInputBox({ prompt: 'ssh host (a Host alias from ~/.ssh/config, or user@hostname)', placeHolder: 'gpu-box', ignoreFocusOut: true, validateInput: (v) => (v.trim() && !v.startsWith('-') ? undefined : 'An ssh destination') });
    if (!host) return undefined;
    const gpus = await vscode.window.showInputBox({ prompt: 'GPUs to use (0: CPU only)', value: defaultGpus, ignoreFocusOut: true, validateInput: count });
    if (gpus === undefined) return undefined;
    return { type, host: host.trim(), gpus: Number(gpus) };
  }
  if (type === 'slurm') {
    const host = await vscode.window.showInputBox({ prompt: 'ssh host of the login node (empty: this machine is the login node)', ignoreFocusOut: true });
    if (host === undefined) return undefined;
    const partition = await vscode.window.showInputBox({ prompt: 'Partition (empty: the default partition)', ignoreFocusOut: true, validateInput: (v) => (v === '' || /^[A-Za-z0-9_.,-]+$/.test(v) ? undefined : 'Letters, digits, ".", "_", "-" and ","') });
    if (partition === undefined) return undefined;
    const nodes = await vscode.window.showInputBox({ prompt: 'Nodes', value: '1', ignoreFocusOut: true, validateInput: count });
    if (!nodes) return undefined;
    const gpusPerNode = await vscode.window.showInputBox({ prompt: 'GPUs per node', value: defaultGpus, ignoreFocusOut: true, validateInput: count });
    if (gpusPerNode === undefined) return undefined;
    return { type, nodes: Math.max(1, Number(nodes)), gpusPerNode: Number(gpusPerNode), ...(host.trim() ? { host: host.trim() } : {}), ...(partition ? { partition } : {}) };
  }
  const accelerators = await pick<string>('GPU type and count per node', ['A100:1', 'A100:8', 'H100:1', 'H100:8', 'L4:1', 'A10G:1', 'T4:1'].map((a) => ({ label: a, value: a })));
  if (!accelerators) return undefined;
  const nodes = await vscode.window.showInputBox({ prompt: 'Nodes', value: '1', ignoreFocusOut: true, validateInput: count });
  if (!nodes) return undefined;
  return { type, accelerators, nodes: Math.max(1, Number(nodes)), managed: false, spot: false };
}

/** A quick pick of values; `allowUndefinedValue` distinguishes a chosen `undefined` (returned) from a dismissal (null). */
async function pick<T>(title: string, items: { label: string; description?: string; value: T }[], allowUndefinedValue = false): Promise<T | undefined | null> {
  const chosen = await vscode.window.showQuickPick(
    items.map((i) => ({ label: i.label, description: i.description ?? '', value: i.value })),
    { title, ignoreFocusOut: true },
  );
  if (!chosen) return allowUndefinedValue ? null : undefined;
  return chosen.value;
}

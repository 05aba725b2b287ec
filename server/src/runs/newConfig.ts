import * as path from 'node:path';
import { Document } from 'yaml';
import type { Method, RecipeName } from './schema';

/**
 * Writes a new run config from a few answers ("Fine-tune on this dataset…"). The YAML is built
 * with the yaml library, so any value is quoted as YAML needs, and the result is checked against
 * the schema by the caller (and by tests).
 */

/** Base models people fine-tune on multimodal data, with the LLaMA-Factory template each needs. */
export const MODEL_PRESETS: readonly { model: string; template: string; label: string }[] = [
  { model: 'Qwen/Qwen2-VL-2B-Instruct', template: 'qwen2_vl', label: 'Qwen2-VL 2B (vision)' },
  { model: 'Qwen/Qwen2-VL-7B-Instruct', template: 'qwen2_vl', label: 'Qwen2-VL 7B (vision)' },
  { model: 'llava-hf/llava-1.5-7b-hf', template: 'llava', label: 'LLaVA 1.5 7B (vision)' },
  { model: 'openbmb/MiniCPM-V-2_6', template: 'minicpm_v', label: 'MiniCPM-V 2.6 (vision)' },
  { model: 'Qwen/Qwen2.5-7B-Instruct', template: 'qwen', label: 'Qwen2.5 7B (text)' },
  { model: 'meta-llama/Llama-3.1-8B-Instruct', template: 'llama3', label: 'Llama 3.1 8B (text)' },
];

export type NewBackend =
  | { type: 'ssh'; host: string; gpus: number }
  | { type: 'slurm'; host?: string; partition?: string; nodes: number; gpusPerNode: number; timeLimit?: string }
  | { type: 'skypilot'; accelerators: string; infra?: string; nodes: number; managed: boolean; spot: boolean };

export interface NewRunConfig {
  name: string;
  /** The dataset, relative to the config's folder. */
  datasetPath: string;
  recipe: RecipeName;
  model?: string;
  template?: string;
  method: Method;
  backend: NewBackend;
}

/** A valid run name from a file name ("My Data (v2).jsonl" → "my-data-v2"). */
export function suggestRunName(datasetFile: string): string {
  const stem = path.basename(datasetFile).replace(/\.(jsonl|ndjson|json)$/i, '');
  const name = stem.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '').replace(/-+$/, '').slice(0, 50);
  return name || 'run';
}

export function newRunConfigYaml(c: NewRunConfig): string {
  const body: Record<string, unknown> = { name: c.name };
  if (c.recipe !== 'smoke') {
    if (c.model) body['model'] = c.model;
    if (c.template) body['template'] = c.template;
    body['method'] = c.method;
  }
  body['recipe'] = c.recipe;
  body['hyperparameters'] = c.recipe === 'smoke' ? { maxSteps: 30, batchSize: 4, gradientAccumulation: 1, loggingSteps: 5 } : { epochs: 3, learningRate: c.method === 'full' ? 1e-5 : 1e-4, batchSize: 1, gradientAccumulation: 8, cutoffLength: 2048 };
  body['datasets'] = [{ path: c.datasetPath.split(path.sep).join('/') }];
  const b: Record<string, unknown> = { ...c.backend };
  for (const k of Object.keys(b)) if (b[k] === undefined || b[k] === '') delete b[k];
  body['backend'] = b;
  const doc = new Document(body);
  doc.commentBefore = ` Tunekit run config for ${c.datasetPath}. Hover a field for its documentation;\n "Launch run" above validates the data, uploads it and starts the training.`;
  return doc.toString({ lineWidth: 0 });
}

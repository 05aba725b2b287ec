import { stringify as yamlStringify } from 'yaml';
import type { RunConfig } from './schema';
import { raw, type Word } from './shellWords';
import { SMOKE_TRAINER_PY } from './smokeTrainer';

/**
 * Recipes turn a run config and its converted data into trainer input: config files to write in
 * the run folder and the commands to run, in order. Paths are relative to the remote working
 * folder (run.sh `cd`s there first), so nothing depends on where the bundle lands.
 */

export interface BundledDataset {
  /** Registry name (LLaMA-Factory `dataset`), unique in the bundle. */
  name: string;
  /** Converted JSONL, relative to the working folder (`data/…`). */
  file: string;
  ratio: number;
  records: number;
  stage?: 1 | 2;
}

export interface TrainStep {
  label: string;
  /** The single-process command (self-launching CLIs spread over local GPUs themselves). */
  argv: Word[];
  /** What `torchrun` runs when the backend launches one process per GPU across nodes: a script or `-m module` and its arguments. */
  torchrunEntry?: Word[];
}

export interface ResumePlan {
  /** Checkpoint folder to resume from, relative to the working folder. */
  checkpoint: string;
  /** For two-stage configs: the stage the checkpoint belongs to. */
  stage?: 1 | 2;
  /** Output of a finished stage 1 to start stage 2 from (skips stage 1). */
  stage1Output?: string;
}

export interface RecipeInput {
  config: RunConfig;
  /** `runs/<id>` */
  runDir: string;
  datasets: BundledDataset[];
  resume?: ResumePlan;
  /** GPUs per node the run gets (0: CPU). */
  gpusPerNode: number;
}

export interface RecipePlan {
  /** Files to write, relative to the working folder. */
  files: { path: string; content: string }[];
  steps: TrainStep[];
  /** The trainer's progress log (LLaMA-Factory `trainer_log.jsonl` format, or ms-swift `logging.jsonl`). */
  progressFile: string;
  /** Python module the trainer needs; run.sh picks the first python3 that has it. */
  pythonModule?: string;
  /** Non-secret environment for the trainer. */
  env: Record<string, string>;
}

export function planRecipe(input: RecipeInput): RecipePlan {
  switch (input.config.recipe) {
    case 'llamafactory':
      return llamafactoryPlan(input);
    case 'ms-swift':
      return msSwiftPlan(input);
    case 'smoke':
      return smokePlan(input);
    case 'command':
      return commandPlan(input);
  }
}

/**
 * The stages a recipe trains, in order, with their datasets. A two-stage run that resumes in stage
 * 2 from a recorded stage-1 output skips stage 1 (`skipStage1`; stage 2 then starts from that output).
 */
function stagesToTrain(input: RecipeInput): { stages: { stage: 1 | 2 | undefined; ds: BundledDataset[] }[]; skipStage1: boolean } {
  const all = stagesOf(input.datasets);
  const skipStage1 = all.length === 2 && input.resume?.stage === 2 && input.resume.stage1Output !== undefined;
  const stages = all.filter((stage) => !(stage === 1 && skipStage1)).map((stage) => ({ stage, ds: input.datasets.filter((d) => d.stage === stage) }));
  return { stages, skipStage1 };
}

function stagesOf(datasets: BundledDataset[]): (1 | 2 | undefined)[] {
  return datasets.some((d) => d.stage) ? [1, 2] : [undefined];
}

/** Normalised mix weights ("0.70,0.30") or undefined when there is nothing to mix. */
function mixProbs(ds: BundledDataset[]): string | undefined {
  if (ds.length < 2) return undefined;
  const total = ds.reduce((s, d) => s + d.ratio, 0);
  return ds.map((d) => (d.ratio / total).toFixed(4)).join(',');
}

// ---------------------------------------------------------------------------------------------
// LLaMA-Factory

/** `data/dataset_info.json`: every converted file in the sharegpt layout with OpenAI-style tags. */
export function llamafactoryDatasetInfo(datasets: BundledDataset[]): string {
  const info: Record<string, unknown> = {};
  for (const d of datasets) {
    info[d.name] = {
      file_name: d.file.replace(/^data\//, ''),
      formatting: 'sharegpt',
      columns: { messages: 'messages', images: 'images', videos: 'videos', audios: 'audios' },
      tags: { role_tag: 'role', content_tag: 'content', user_tag: 'user', assistant_tag: 'assistant', observation_tag: 'tool', function_tag: 'function_call', system_tag: 'system' },
    };
  }
  return JSON.stringify(info, null, 2) + '\n';
}

function llamafactoryPlan(input: RecipeInput): RecipePlan {
  const { config, runDir } = input;
  const h = config.hyperparameters;
  const files: RecipePlan['files'] = [{ path: 'data/dataset_info.json', content: llamafactoryDatasetInfo(input.datasets) }];
  const steps: TrainStep[] = [];
  const { stages, skipStage1 } = stagesToTrain(input);
  for (const { stage, ds } of stages) {
    const isStage1 = stage === 1;
    const outputDir = stage === 1 ? `${runDir}/output/stage1` : `${runDir}/output`;
    const cfg: Record<string, unknown> = {
      model_name_or_path: stage === 2 ? (skipStage1 ? input.resume!.stage1Output : `${runDir}/output/stage1`) : config.model,
      trust_remote_code: true,
      stage: 'sft',
      do_train: true,
      finetuning_type: isStage1 || config.method === 'full' ? 'full' : 'lora',
    };
    if (isStage1) Object.assign(cfg, { freeze_vision_tower: true, freeze_language_model: true, freeze_multi_modal_projector: false });
    else if (config.method !== 'full') {
      cfg['lora_rank'] = h.loraRank;
      if (h.loraAlpha !== undefined) cfg['lora_alpha'] = h.loraAlpha;
      cfg['lora_target'] = Array.isArray(h.loraTargets) ? h.loraTargets.join(',') : h.loraTargets;
      if (config.method === 'qlora') cfg['quantization_bit'] = 4;
    }
    Object.assign(cfg, {
      dataset: ds.map((d) => d.name).join(','),
      dataset_dir: 'data',
      // Media paths in the converted records are relative to the working folder: say so explicitly.
      media_dir: '.',
      template: config.template,
      cutoff_len: h.cutoffLength,
      output_dir: outputDir,
      overwrite_output_dir: true,
      logging_steps: h.loggingSteps,
      save_steps: h.saveSteps,
      per_device_train_batch_size: h.batchSize,
      gradient_accumulation_steps: h.gradientAccumulation,
      learning_rate: h.learningRate,
      num_train_epochs: h.epochs,
      lr_scheduler_type: 'cosine',
      bf16: h.bf16,
      report_to: 'none',
    });
    if (h.maxSteps !== undefined) cfg['max_steps'] = h.maxSteps;
    const probs = mixProbs(ds);
    if (probs) Object.assign(cfg, { mix_strategy: 'interleave_under', interleave_probs: probs });
    if (input.resume && (input.resume.stage ?? stage) === stage && !(stage === 1 && input.resume.stage === 2)) cfg['resume_from_checkpoint'] = input.resume.checkpoint;
    const yamlFile = `${runDir}/${stage ? `train_stage${stage}` : 'train'}.yaml`;
    files.push({ path: yamlFile, content: `# LLaMA-Factory training config written by Tunekit for ${config.name}.\n${yamlStringify(cfg)}` });
    steps.push({ label: stage ? `LLaMA-Factory stage ${stage}` : 'LLaMA-Factory', argv: ['llamafactory-cli', 'train', yamlFile], torchrunEntry: ['-m', 'llamafactory.launcher', yamlFile] });
  }
  const env: Record<string, string> = {};
  if (input.gpusPerNode > 1) env['FORCE_TORCHRUN'] = '1';
  return { files, steps, progressFile: `${runDir}/output/trainer_log.jsonl`, pythonModule: 'llamafactory', env };
}

// ---------------------------------------------------------------------------------------------
// ms-swift

function msSwiftPlan(input: RecipeInput): RecipePlan {
  const { config, runDir } = input;
  const h = config.hyperparameters;
  const steps: TrainStep[] = [];
  const { stages, skipStage1 } = stagesToTrain(input);
  for (const { stage, ds } of stages) {
    const isStage1 = stage === 1;
    const total = ds.reduce((s, d) => s + d.records, 0);
    const weights = ds.reduce((s, d) => s + d.ratio, 0);
    // ms-swift samples `path#N` records from a dataset; equal ratios keep every record as is.
    const uniform = ds.every((d) => d.ratio === ds[0]!.ratio);
    const datasetArgs = ds.map((d) => (uniform ? d.file : `${d.file}#${Math.max(1, Math.round((d.ratio / weights) * total))}`));
    const outputDir = isStage1 ? `${runDir}/output/stage1` : `${runDir}/output`;
    const args: Word[] = [];
    const model: Word = stage === 2 ? (skipStage1 ? input.resume!.stage1Output! : raw(`"$(ls -d ${runDir}/output/stage1/checkpoint-* | sort -V | tail -n 1)"`)) : config.model!;
    args.push('--model', model);
    if (isStage1) args.push('--train_type', 'full', '--freeze_llm', 'true', '--freeze_vit', 'true', '--freeze_aligner', 'false');
    else {
      args.push('--train_type', config.method === 'full' ? 'full' : 'lora');
      if (config.method !== 'full') {
        args.push('--lora_rank', String(h.loraRank));
        if (h.loraAlpha !== undefined) args.push('--lora_alpha', String(h.loraAlpha));
        const targets = Array.isArray(h.loraTargets) ? h.loraTargets : h.loraTargets === 'all' ? ['all-linear'] : h.loraTargets.split(',');
        args.push('--target_modules', ...targets);
      }
      if (config.method === 'qlora') args.push('--quant_method', 'bnb', '--quant_bits', '4');
    }
    args.push('--dataset', ...datasetArgs);
    args.push(
      '--output_dir', outputDir,
      '--add_version', 'false',
      '--num_train_epochs', String(h.epochs),
      '--learning_rate', String(h.learningRate),
      '--per_device_train_batch_size', String(h.batchSize),
      '--gradient_accumulation_steps', String(h.gradientAccumulation),
      '--max_length', String(h.cutoffLength),
      '--logging_steps', String(h.loggingSteps),
      '--save_steps', String(h.saveSteps),
      '--torch_dtype', h.bf16 ? 'bfloat16' : 'float16',
      '--report_to', 'none',
    );
    if (h.maxSteps !== undefined) args.push('--max_steps', String(h.maxSteps));
    if (input.resume && (input.resume.stage ?? stage) === stage) args.push('--resume_from_checkpoint', input.resume.checkpoint);
    steps.push({ label: stage ? `ms-swift stage ${stage}` : 'ms-swift', argv: ['swift', 'sft', ...args], torchrunEntry: ['-m', 'swift.cli.sft', ...args] });
  }
  return { files: [], steps, progressFile: `${runDir}/output/logging.jsonl`, pythonModule: 'swift', env: {} };
}

// ---------------------------------------------------------------------------------------------
// smoke

export const SMOKE_DEFAULT_STEPS = 30;

function smokePlan(input: RecipeInput): RecipePlan {
  const { config, runDir } = input;
  const h = config.hyperparameters;
  const script = `${runDir}/smoke_train.py`;
  const args: Word[] = [];
  for (const d of input.datasets) args.push('--data', d.file);
  args.push(
    '--output-dir', `${runDir}/output`,
    '--max-steps', String(h.maxSteps ?? SMOKE_DEFAULT_STEPS),
    '--lr', String(Math.max(h.learningRate, 1e-3)),
    '--batch-size', String(h.batchSize),
    '--cutoff', String(Math.min(h.cutoffLength, 256)),
    '--logging-steps', String(h.loggingSteps),
    '--save-steps', String(h.saveSteps),
  );
  if (input.resume) args.push('--resume-from-checkpoint', input.resume.checkpoint);
  return {
    files: [{ path: script, content: SMOKE_TRAINER_PY }],
    steps: [{ label: 'smoke trainer', argv: [raw('"$TK_PY"'), script, ...args], torchrunEntry: [script, ...args] }],
    progressFile: `${runDir}/output/trainer_log.jsonl`,
    pythonModule: 'torch',
    env: {},
  };
}

// ---------------------------------------------------------------------------------------------
// command

function commandPlan(input: RecipeInput): RecipePlan {
  const { config, runDir } = input;
  const env: Record<string, string> = { TUNEKIT_DATA: input.datasets.map((d) => d.file).join(',') };
  if (input.resume) env['TUNEKIT_RESUME_FROM'] = input.resume.checkpoint;
  return {
    files: [],
    steps: [{ label: 'command', argv: [...config.command!] }],
    progressFile: `${runDir}/output/trainer_log.jsonl`,
    env,
  };
}

import { z } from 'zod';

/**
 * The one definition of a run config (`*.tunekit.yaml`). The language server validates, completes
 * and documents these files from it, `media/schemas/tunekit-run.schema.json` is generated from it
 * (`z.toJSONSchema`, checked by a test), and the launch pipeline only ever sees a parsed `RunConfig`.
 */

export const METHODS = ['lora', 'qlora', 'full'] as const;
export const RECIPES = ['llamafactory', 'ms-swift', 'command', 'smoke'] as const;
export const BACKENDS = ['ssh', 'slurm', 'skypilot'] as const;

export type Method = (typeof METHODS)[number];
export type RecipeName = (typeof RECIPES)[number];
export type BackendKind = (typeof BACKENDS)[number];

/** Names that end up in file names, cluster names and environment variables. */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
/** Slurm names written into `#SBATCH` lines, which sbatch reads itself (no shell quoting applies there). */
const SLURM_WORD_RE = /^[A-Za-z0-9_.,-]+$/;
export const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

const positiveInt = (what: string) => z.number({ error: `${what} must be a number` }).int(`${what} must be a whole number`).min(1, `${what} must be at least 1`);

const hyperparametersSchema = z
  .strictObject({
    epochs: z.number().positive('epochs must be greater than 0').default(3).describe('Passes over the training data (LLaMA-Factory `num_train_epochs`, ms-swift `--num_train_epochs`).'),
    maxSteps: positiveInt('maxSteps').optional().describe('Stop after this many optimisation steps, whatever `epochs` says (`max_steps`). Handy for a quick check.'),
    learningRate: z.number().positive('learningRate must be greater than 0').default(1e-4).describe('Peak learning rate (`learning_rate`). LoRA usually takes 1e-4 to 2e-4, full fine-tuning 1e-5 to 2e-5.'),
    batchSize: positiveInt('batchSize').default(1).describe('Samples per GPU per step (`per_device_train_batch_size`).'),
    gradientAccumulation: positiveInt('gradientAccumulation').default(8).describe('Steps whose gradients are summed before an update (`gradient_accumulation_steps`); the effective batch is batchSize × gradientAccumulation × GPUs.'),
    cutoffLength: positiveInt('cutoffLength').default(2048).describe('Tokens per sample after which the trainer truncates (`cutoff_len` / `--max_length`).'),
    loraRank: positiveInt('loraRank').default(8).describe('LoRA rank `r` (`lora_rank`); ignored by full fine-tuning.'),
    loraAlpha: positiveInt('loraAlpha').optional().describe('LoRA scaling alpha (`lora_alpha`); the trainer defaults to 2 × rank.'),
    loraTargets: z
      .union([z.string(), z.array(z.string()).min(1)])
      .default('all')
      .describe('Modules LoRA adapts (`lora_target`): `all`, or names such as `q_proj,v_proj`.'),
    loggingSteps: positiveInt('loggingSteps').default(10).describe('Write a progress line to `trainer_log.jsonl` every this many steps (`logging_steps`).'),
    saveSteps: positiveInt('saveSteps').default(500).describe('Save a checkpoint every this many steps (`save_steps`); a relaunch resumes from the latest one.'),
    bf16: z.boolean().default(true).describe('Train in bfloat16 (`bf16`). Turn off on GPUs older than Ampere.'),
  })
  .describe('Training hyperparameters; each names the trainer option it sets.');

const datasetSchema = z
  .strictObject({
    path: z.string().min(1, 'path must not be empty').describe('A dataset file (JSONL or JSON array), relative to this config file. It is validated before launch and converted to the recipe\'s format.'),
    ratio: z.number().positive('ratio must be greater than 0').default(1).describe('Mix weight relative to the other datasets of the same stage (LLaMA-Factory `interleave_probs`, ms-swift `#count` sampling). The smoke recipe ignores it.'),
    stage: z.union([z.literal(1), z.literal(2)], { error: 'stage must be 1 or 2' }).optional().describe('For the two-stage recipe: 1 trains the projector only (alignment), 2 fine-tunes on top of stage 1. Leave out for a single stage.'),
  })
  .describe('One dataset file with its mix weight and stage.');

const sshBackendSchema = z
  .strictObject({
    type: z.literal('ssh').describe('Run on a machine you reach with `ssh` (your own GPU box).'),
    host: z.string().min(1, 'host must not be empty').describe('An ssh destination: a `Host` alias from `~/.ssh/config` or `user@hostname`. Tunekit runs the system `ssh`, so agents, ProxyJump and keys work as in your terminal.'),
    remoteDir: z.string().min(1).default('~/tunekit-runs').describe('Folder on the remote machine that holds the synced data and the runs (`~` is the remote home).'),
    gpus: z.number().int().min(0, 'gpus must be 0 or more').default(1).describe('GPUs to use on the machine (0 runs on the CPU, for the smoke recipe).'),
  })
  .describe('ssh backend: your own GPU machine.');

const slurmBackendSchema = z
  .strictObject({
    type: z.literal('slurm').describe('Submit to a Slurm cluster with `sbatch` through its login node.'),
    host: z.string().min(1).optional().describe('ssh destination of the login node. Leave out when this machine is the login node.'),
    remoteDir: z.string().min(1).default('~/tunekit-runs').describe('Folder on the cluster (shared by the nodes) that holds the synced data and the runs.'),
    partition: z.string().regex(SLURM_WORD_RE, 'partition may hold letters, digits, ".", "_", "-" and ","').optional().describe('Slurm partition (`#SBATCH --partition`).'),
    nodes: positiveInt('nodes').default(1).describe('Nodes (`#SBATCH --nodes`); more than one starts `srun torchrun` with a rendezvous on the first node.'),
    gpusPerNode: z.number().int().min(0, 'gpusPerNode must be 0 or more').default(1).describe('GPUs per node (`#SBATCH --gpus-per-node`); 0 requests none.'),
    timeLimit: z
      .string()
      .regex(/^(\d+-)?\d+(:\d{1,2}){0,2}$/, 'timeLimit must look like 30, 4:00:00 or 1-00:00:00')
      .optional()
      .describe('Wall-clock limit (`#SBATCH --time`), e.g. `4:00:00` or `1-00:00:00`.'),
    account: z.string().regex(SLURM_WORD_RE, 'account may hold letters, digits, ".", "_", "-" and ","').optional().describe('Account to charge (`#SBATCH --account`).'),
    cpusPerTask: positiveInt('cpusPerTask').optional().describe('CPU cores per node task (`#SBATCH --cpus-per-task`).'),
  })
  .describe('Slurm backend: a cluster reached through its login node.');

const skypilotBackendSchema = z
  .strictObject({
    type: z.literal('skypilot').describe('Launch on any cloud or Kubernetes through SkyPilot (`sky`).'),
    accelerators: z.string().min(1).default('A100:1').describe('GPU type and count per node, e.g. `A100:1`, `H100:8` (`resources.accelerators`).'),
    infra: z.string().min(1).optional().describe('Where to run: `aws`, `gcp/us-central1`, `k8s`… (`resources.infra`). Leave out to let SkyPilot pick the cheapest.'),
    nodes: positiveInt('nodes').default(1).describe('Nodes (`num_nodes`); each node gets `SKYPILOT_NODE_RANK` and the head address for the rendezvous.'),
    spot: z.boolean().default(false).describe('Use spot instances (`resources.use_spot`); combine with `managed: true` so preempted runs resume.'),
    managed: z.boolean().default(false).describe('Run as a managed job (`sky jobs launch`): SkyPilot recovers it after preemption and tears the VM down at the end.'),
    autostop: z
      .number()
      .int()
      .min(1, 'autostop must be at least 1 minute')
      .default(30)
      .describe('Minutes of idleness after which the cluster is torn down (`sky launch --down -i`), so no GPU VM is forgotten.'),
    cluster: z.string().regex(NAME_RE, 'cluster may hold letters, digits, ".", "_" and "-"').optional().describe('Cluster name; defaults to `tunekit-<name>`.'),
  })
  .describe('SkyPilot backend: any cloud or Kubernetes cluster.');

export const backendSchema = z
  .discriminatedUnion('type', [sshBackendSchema, slurmBackendSchema, skypilotBackendSchema], {
    error: (issue) => (issue.code === 'invalid_union' ? `backend.type must be one of ${BACKENDS.join(', ')}` : undefined),
  })
  .describe('Where the run happens: `ssh`, `slurm` or `skypilot`, each with its own fields.');

const outputsSchema = z
  .strictObject({
    include: z
      .array(z.string().min(1))
      .default(['adapter_model.*', 'adapter_config.json', 'tokenizer*', 'special_tokens_map.json', 'chat_template.*', 'trainer_log.jsonl', 'train_results.json'])
      .describe('Glob patterns, relative to the run\'s output folder, of the files to download (the adapter by default, not the checkpoints).'),
    localDir: z.string().min(1).optional().describe('Local folder, relative to this config file, to download into; defaults to `.tunekit/outputs/<name>/<run id>`.'),
  })
  .describe('What "Download outputs" fetches from the run\'s output folder.');

export const runConfigSchema = z
  .strictObject({
    name: z.string({ error: 'name is required: a short run name such as "qwen-vl-lora"' }).regex(NAME_RE, 'name may hold letters, digits, ".", "_" and "-" (at most 63, starting with a letter or digit)').describe('Run name; names the remote folder, the SkyPilot cluster and the Slurm job.'),
    model: z.string().min(1, 'model must not be empty').optional().describe('Base model: a Hugging Face id (`Qwen/Qwen2-VL-2B-Instruct`) or a path on the remote machine (`model_name_or_path` / `--model`). The smoke recipe trains a tiny built-in model and ignores it.'),
    template: z.string().min(1).optional().describe('LLaMA-Factory chat template (`template`), e.g. `qwen2_vl`, `llava`, `minicpm_v`; must match the model.'),
    method: z.enum(METHODS, { error: `method must be one of ${METHODS.join(', ')}` }).default('lora').describe('`lora` trains an adapter, `qlora` a LoRA adapter on a 4-bit quantised model, `full` every weight.'),
    hyperparameters: hyperparametersSchema.prefault({}),
    datasets: z.array(datasetSchema, { error: 'datasets must be a list of {path, ratio, stage}' }).min(1, 'datasets needs at least one dataset file').describe('Dataset files to train on; each is validated before launch.'),
    recipe: z.enum(RECIPES, { error: `recipe must be one of ${RECIPES.join(', ')}` }).default('llamafactory').describe('The training entry point: `llamafactory` (`llamafactory-cli train`), `ms-swift` (`swift sft`), `command` (your own, see `command`) or `smoke` (a tiny PyTorch trainer to check a backend in a minute).'),
    command: z.array(z.string()).min(1, 'command needs at least the program').optional().describe('For `recipe: command`: the program and its arguments as a list (never a shell string). It runs in the run folder with `TUNEKIT_DATA` (converted data, JSONL) and `TUNEKIT_OUTPUT_DIR` set.'),
    backend: backendSchema,
    pythonEnv: z.string().min(1).optional().describe('A virtual environment or conda environment folder on the remote machine; its `bin/` goes first on PATH, so `llamafactory-cli`, `swift` or `python3` come from it.'),
    env: z
      .record(z.string().regex(ENV_NAME_RE, 'environment variable names hold letters, digits and "_"'), z.union([z.string(), z.number(), z.boolean()]).transform(String))
      .default({})
      .describe('Environment variables for the trainer. Not for secrets: these are written into the bundle; list secrets under `secrets`.'),
    secrets: z
      .array(z.string().regex(ENV_NAME_RE, 'secret names hold letters, digits and "_" (they become environment variables)'))
      .default([])
      .describe('Names of secrets (e.g. `HF_TOKEN`) set with "Tunekit: Set Secret" (or in the CLI\'s environment). They reach the trainer only as environment variables, never in files, arguments or logs.'),
    outputs: outputsSchema.prefault({}),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.recipe === 'command' && !cfg.command) ctx.addIssue({ code: 'custom', path: ['recipe'], message: 'recipe "command" needs a `command` list: the program and its arguments.' });
    if (cfg.recipe !== 'command' && cfg.command) ctx.addIssue({ code: 'custom', path: ['command'], message: `command is only used with recipe "command"; recipe "${cfg.recipe}" ignores it.` });
    if ((cfg.recipe === 'llamafactory' || cfg.recipe === 'ms-swift') && !cfg.model) ctx.addIssue({ code: 'custom', path: ['recipe'], message: `recipe "${cfg.recipe}" needs a \`model\` (a Hugging Face id or a path on the remote machine).` });
    if (cfg.recipe === 'llamafactory' && !cfg.template) ctx.addIssue({ code: 'custom', path: ['recipe'], message: 'recipe "llamafactory" needs a `template` matching the model (e.g. qwen2_vl, llava, minicpm_v); LLaMA-Factory refuses to start without one.' });
    const stages = new Set(cfg.datasets.map((d) => d.stage));
    if (stages.has(2) && !stages.has(1)) ctx.addIssue({ code: 'custom', path: ['datasets'], message: 'datasets has stage 2 but no stage 1; give the alignment data stage: 1 or drop the stages.' });
    if (stages.has(undefined) && stages.size > 1) ctx.addIssue({ code: 'custom', path: ['datasets'], message: 'Either every dataset has a stage or none has; a dataset without one would not be trained.' });
    for (const [k] of Object.entries(cfg.env)) {
      if (cfg.secrets.includes(k)) ctx.addIssue({ code: 'custom', path: ['env', k], message: `${k} is also listed under secrets; remove it from env so its value is not written to the bundle.` });
    }
  })
  .describe('A Tunekit run config: what to train, on which data, with which recipe, where.');

export type RunConfig = z.output<typeof runConfigSchema>;
export type RunConfigInput = z.input<typeof runConfigSchema>;
export type BackendConfig = RunConfig['backend'];
export type SshBackendConfig = Extract<BackendConfig, { type: 'ssh' }>;
export type SlurmBackendConfig = Extract<BackendConfig, { type: 'slurm' }>;
export type SkypilotBackendConfig = Extract<BackendConfig, { type: 'skypilot' }>;
export type DatasetEntry = RunConfig['datasets'][number];

/** The JSON Schema contributed for YAML validation (`contributes.yamlValidation`). */
export function runConfigJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(runConfigSchema, { io: 'input', target: 'draft-7', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, $id: 'https://tunekit.invalid/schemas/tunekit-run.schema.json', title: 'Tunekit run config' };
}

/** A short line saying what runs where (pre-flight and the Runs view): backend, nodes, GPUs. */
export function describeResources(b: BackendConfig): string {
  switch (b.type) {
    case 'ssh':
      return `ssh ${b.host}: 1 node, ${b.gpus === 0 ? 'CPU only' : `${b.gpus} GPU${b.gpus === 1 ? '' : 's'}`}`;
    case 'slurm':
      return `slurm${b.partition ? ` partition ${b.partition}` : ''}${b.host ? ` via ${b.host}` : ''}: ${b.nodes} node${b.nodes === 1 ? '' : 's'} × ${b.gpusPerNode === 0 ? 'no GPU' : `${b.gpusPerNode} GPU${b.gpusPerNode === 1 ? '' : 's'}`}${b.timeLimit ? `, time limit ${b.timeLimit}` : ''}`;
    case 'skypilot':
      return `skypilot${b.infra ? ` ${b.infra}` : ''}: ${b.nodes} node${b.nodes === 1 ? '' : 's'} × ${b.accelerators}${b.spot ? ' (spot)' : ''}${b.managed ? ', managed job' : ''}, autostop ${b.autostop} min`;
  }
}

import { z } from 'zod';
import { FORMAT_NAMES } from './types';

/**
 * The one definition of Tunekit's settings. `package.json` `contributes.configuration` must match
 * it (test/unit/settings.test.ts checks), and every consumer (server, CLI) parses through it so
 * defaults live in exactly one place.
 */
export const TARGETS = ['generic', 'llamafactory', 'llava', 'minicpm-v', 'internvl', 'qwen-vl', 'ms-swift', 'openai', 'together'] as const;
export type Target = (typeof TARGETS)[number];

export const RULE_LEVELS = ['off', 'hint', 'info', 'warning', 'error'] as const;
export type RuleLevel = (typeof RULE_LEVELS)[number];

export const settingsSchema = z.object({
  target: z.enum(TARGETS).default('generic').describe('The trainer the data is for. Some severities and limits depend on it.'),
  rules: z
    .record(z.string(), z.enum(RULE_LEVELS))
    .default({})
    .describe('Severity per diagnostic code, e.g. {"unknown-field": "off", "too-long": "error"}.'),
  maxProblems: z.number().int().min(1).default(1000).describe('The most problems reported per file.'),
  maxTokens: z.number().int().min(1).default(4096).describe("The trainer's cutoff length in tokens; longer records get `too-long`."),
  mediaRoot: z
    .string()
    .default('')
    .describe('Folder that relative media paths resolve against first (LLaMA-Factory `media_dir`, LLaVA `--image_folder`).'),
  datasetFiles: z
    .array(z.string())
    .default(['**/data/**/*.json', '**/*dataset*.json', '**/*train*.json', '**/*val*.json', '**/*test*.json'])
    .describe('Glob patterns of `.json` files that are datasets (JSON arrays of records). `.jsonl` files are always datasets.'),
  tokenizer: z
    .string()
    .default('')
    .describe(
      'Tokenizer for token counts (report and `too-long`): an OpenAI encoding (`o200k_base`, `cl100k_base`), a path to a Hugging Face `tokenizer.json`, or empty to pick by target (OpenAI targets: `o200k_base`; others: a labelled estimate).',
    ),
  report: z
    .object({
      longTailMin: z.number().int().min(1).default(10).describe('Labels with fewer records than this are the long tail in the dataset report.'),
      nearDuplicateThreshold: z
        .number()
        .min(0.5)
        .max(1)
        .default(0.8)
        .describe('Estimated Jaccard similarity (word 3-grams, MinHash) at or above which two records count as near-duplicates in the report.'),
      imageTokens: z
        .number()
        .int()
        .min(0)
        .default(0)
        .describe("Tokens one image takes in the trainer's sequence; 0 uses the target's rule (a fixed count or by resolution)."),
    })
    .default({ longTailMin: 10, nearDuplicateThreshold: 0.8, imageTokens: 0 })
    .describe('Dataset report thresholds.'),
  largeFiles: z
    .enum(['ask', 'auto', 'off'])
    .default('ask')
    .describe(
      'Dataset files over 50 MB, which VS Code does not hand to extensions: `ask` offers to validate them from disk when opened, `auto` does so right away, `off` never.',
    ),
  format: z
    .enum(['auto', ...FORMAT_NAMES])
    .default('auto')
    .describe('Dataset format; `auto` detects it per record and uses the file\'s dominant format.'),
  media: z
    .object({
      fetchRemote: z.boolean().default(false).describe('Fetch the first bytes of http(s) media URLs to check them. Off: remote media are shown as links and never downloaded.'),
    })
    .default({ fetchRemote: false }),
  preview: z
    .object({
      hoverSize: z.number().int().min(16).max(2048).default(256).describe('Largest side, in pixels, of the image shown when hovering a media reference.'),
    })
    .default({ hoverSize: 256 }),
  leakage: z
    .object({
      patterns: z
        .array(
          z.object({
            regex: z.string().refine(isValidRegex, 'not a valid regular expression'),
            message: z.string(),
            severity: z.enum(['error', 'warning', 'info', 'hint']).default('warning'),
          }),
        )
        .default([])
        .describe('Extra leakage patterns, reported as `leakage-pattern`: {"regex": "...", "message": "...", "severity": "warning"}.'),
      allowTokens: z
        .array(z.string())
        .default([])
        .describe('Control tokens the dataset intends (e.g. "</s>"); they are not reported as leaked-special-token.'),
      repeatedMinLength: z.number().int().min(10).default(60).describe('repeated-boilerplate: shortest span, in characters, that counts as boilerplate.'),
      repeatedMinShare: z.number().min(0).max(1).default(0.2).describe('repeated-boilerplate: share of records (0–1) that must carry the same span.'),
      repeatedMinRecords: z.number().int().min(2).default(5).describe('repeated-boilerplate: fewest records that must carry the same span.'),
    })
    .default({ patterns: [], allowTokens: [], repeatedMinLength: 60, repeatedMinShare: 0.2, repeatedMinRecords: 5 }),
  runs: z
    .object({
      allowWarnings: z.boolean().default(false).describe('Launch a run even when pre-flight validation of its datasets finds warnings (errors always stop a launch).'),
      minRecords: z.number().int().min(0).default(32).describe('Fewest records a dataset may have for a launch (the smoke recipe is exempt); smaller datasets are refused before any GPU time is spent.'),
      sshConfigFile: z.string().default('').describe('An ssh config file used for runs (`ssh -F FILE`); empty uses ~/.ssh/config.'),
    })
    .default({ allowWarnings: false, minRecords: 32, sshConfigFile: '' }),
});

function isValidRegex(source: string): boolean {
  try {
    new RegExp(source, 'u');
    return true;
  } catch {
    return false;
  }
}

export type Settings = z.infer<typeof settingsSchema>;

export const DEFAULT_SETTINGS: Settings = settingsSchema.parse({});

/**
 * Parses user settings leniently: a bad value for one key falls back to its default instead of
 * throwing away every other setting. Returns the problems so the caller can show them.
 */
export function parseSettings(raw: unknown): { settings: Settings; problems: string[] } {
  const input = raw !== null && typeof raw === 'object' ? { ...(raw as Record<string, unknown>) } : {};
  const problems: string[] = [];
  const shape = settingsSchema.shape;
  for (const key of Object.keys(input)) {
    if (!(key in shape)) continue;
    const res = (shape as Record<string, z.ZodType>)[key]!.safeParse(input[key]);
    if (!res.success) {
      problems.push(`tunekit.${key}: ${res.error.issues[0]?.message ?? 'invalid value'}; using the default`);
      delete input[key];
    }
  }
  const settings = settingsSchema.parse(
    Object.fromEntries(Object.entries(input).filter(([k]) => k in shape)),
  );
  return { settings, problems };
}

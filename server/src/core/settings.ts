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
});

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

import * as path from 'node:path';
import { parseSettings, TARGETS, type Settings } from '../core/settings';
import { FORMAT_NAMES } from '../core/types';

/**
 * Flags shared by the data commands (`report`, `split`, `convert`). Errors carry an
 * `ERR_PARSE_ARGS_*` code so that cli.ts's `main` prints them with the usage and exits 2.
 */

export class CliUsageError extends Error {
  readonly code = 'ERR_PARSE_ARGS_TUNEKIT';
}

export const SETTINGS_OPTIONS = {
  target: { type: 'string' },
  format: { type: 'string' },
  'media-root': { type: 'string' },
  'max-tokens': { type: 'string' },
  tokenizer: { type: 'string' },
  rule: { type: 'string', multiple: true },
} as const;

/** Settings from the shared flags, through the same zod schema the editor uses. */
export function settingsFromFlags(values: Record<string, unknown>): Settings {
  const raw: Record<string, unknown> = {};
  if (values['target'] !== undefined) {
    if (!(TARGETS as readonly string[]).includes(values['target'] as string)) throw new CliUsageError(`--target must be one of ${TARGETS.join(', ')}`);
    raw['target'] = values['target'];
  }
  if (values['format'] !== undefined) {
    const f = values['format'] as string;
    if (f !== 'auto' && !(FORMAT_NAMES as readonly string[]).includes(f)) throw new CliUsageError(`--format must be auto or one of ${FORMAT_NAMES.join(', ')}`);
    raw['format'] = f;
  }
  if (values['media-root'] !== undefined) raw['mediaRoot'] = path.resolve(values['media-root'] as string);
  if (values['max-tokens'] !== undefined) {
    const n = Number(values['max-tokens']);
    if (!Number.isInteger(n) || n < 1) throw new CliUsageError('--max-tokens must be a positive whole number');
    raw['maxTokens'] = n;
  }
  if (values['tokenizer'] !== undefined) raw['tokenizer'] = values['tokenizer'];
  if (values['max-problems'] !== undefined) {
    const n = Number(values['max-problems']);
    if (!Number.isInteger(n) || n < 1) throw new CliUsageError('--max-problems must be a positive whole number');
    raw['maxProblems'] = n;
  }
  const rules: Record<string, string> = {};
  for (const r of (values['rule'] as string[] | undefined) ?? []) {
    const [code, level] = r.split('=');
    if (!code || !level) throw new CliUsageError(`--rule takes CODE=LEVEL, got "${r}"`);
    rules[code] = level;
  }
  if (Object.keys(rules).length) raw['rules'] = rules;
  const { settings, problems } = parseSettings(raw);
  if (problems.length) throw new CliUsageError(problems.join('; '));
  return settings;
}

/** Whether a stream is an interactive terminal (progress is shown only there). */
export function isTty(stream: NodeJS.WritableStream): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true;
}

/** A progress line on a terminal, redrawn in place at most every 100 ms; `done()` clears it. */
export function progressLine(err: NodeJS.WritableStream): { update(text: string): void; done(): void } {
  if (!isTty(err)) return { update: () => undefined, done: () => undefined };
  let last = 0;
  let shown = false;
  return {
    update(text) {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      shown = true;
      err.write(`\r\x1b[2K${text}`);
    },
    done() {
      if (shown) err.write('\r\x1b[2K');
    },
  };
}

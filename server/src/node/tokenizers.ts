import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tiktoken } from 'js-tiktoken/lite';
import { Tokenizer } from '@huggingface/tokenizers';
import type { Settings } from '../core/settings';
import { ESTIMATE_COUNTER, memoisedCounter, pieceCachedCounter, type TokenCounter } from '../core/report/tokenCounter';

/**
 * Real tokenizers for the report and `too-long` (Node side: loading them is I/O or a large table).
 * OpenAI encodings come from js-tiktoken's bundled ranks (offline); open models' tokenizers from a
 * local Hugging Face `tokenizer.json` that `tunekit.tokenizer` points at.
 */

export const OPENAI_ENCODINGS = ['o200k_base', 'cl100k_base'] as const;
export type OpenAiEncoding = (typeof OPENAI_ENCODINGS)[number];

interface TiktokenRanks {
  pat_str: string;
  special_tokens: Record<string, number>;
  bpe_ranks: string;
}

function loadRanks(name: OpenAiEncoding): TiktokenRanks {
  // Lazy, static requires: the bundler ships both tables, and only the one in use is parsed.
  const mod = (
    name === 'o200k_base'
      ? // eslint-disable-next-line @typescript-eslint/no-require-imports
        require('js-tiktoken/ranks/o200k_base')
      : // eslint-disable-next-line @typescript-eslint/no-require-imports
        require('js-tiktoken/ranks/cl100k_base')
  ) as TiktokenRanks & { default?: TiktokenRanks };
  return mod.default ?? mod;
}

const openAiCounters = new Map<OpenAiEncoding, TokenCounter>();

/** An OpenAI encoding's exact counter. Special-token strings in data count as plain text, as in training files. */
export function openAiCounter(name: OpenAiEncoding): TokenCounter {
  let c = openAiCounters.get(name);
  if (!c) {
    const ranks = loadRanks(name);
    const enc = new Tiktoken(ranks);
    c = pieceCachedCounter(name, ranks.pat_str, (piece) => enc.encode(piece, [], []).length);
    openAiCounters.set(name, c);
  }
  return c;
}

const hfCounters = new Map<string, { mtimeMs: number; counter: TokenCounter }>();

/** A counter from a local `tokenizer.json` (with `tokenizer_config.json` beside it when present). Throws with a readable reason. */
export function huggingFaceCounter(file: string): TokenCounter {
  const stat = fs.statSync(file);
  const known = hfCounters.get(file);
  if (known && known.mtimeMs === stat.mtimeMs) return known.counter;
  const json: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (!json || typeof json !== 'object' || !('model' in json)) throw new Error('it is not a Hugging Face tokenizer.json (no "model")');
  let config: object = {};
  const configFile = path.join(path.dirname(file), 'tokenizer_config.json');
  try {
    config = JSON.parse(fs.readFileSync(configFile, 'utf8')) as object;
  } catch {
    // The config only adds metadata (special-token names); counts do not need it.
  }
  const tok = new Tokenizer(json, config);
  const model = (json as { model: { type?: string } }).model.type ?? 'tokenizer';
  const cls = (config as { tokenizer_class?: string }).tokenizer_class;
  const counter = memoisedCounter({
    name: `${path.basename(file)} (${cls ?? model})`,
    exact: true,
    count: (text) => tok.encode(text, { add_special_tokens: false }).ids.length,
  });
  hfCounters.set(file, { mtimeMs: stat.mtimeMs, counter });
  return counter;
}

export interface TokenizerChoice {
  counter: TokenCounter;
  /** Why the requested tokenizer could not be used (the counter is then the estimate). */
  problem?: string;
}

/**
 * The counter `tunekit.tokenizer` asks for: an OpenAI encoding by name, a path to a
 * `tokenizer.json` (relative paths against `baseDir`), or, when empty, `o200k_base` for OpenAI
 * targets and the labelled estimate otherwise.
 */
export function tokenCounterFor(settings: Settings, baseDir: string = process.cwd()): TokenizerChoice {
  const want = settings.tokenizer.trim();
  if (want === '') return { counter: settings.target === 'openai' ? openAiCounter('o200k_base') : ESTIMATE_COUNTER };
  if (want === 'estimate') return { counter: ESTIMATE_COUNTER };
  if ((OPENAI_ENCODINGS as readonly string[]).includes(want)) return { counter: openAiCounter(want as OpenAiEncoding) };
  const file = path.resolve(baseDir, want);
  try {
    const target = fs.statSync(file).isDirectory() ? path.join(file, 'tokenizer.json') : file;
    return { counter: huggingFaceCounter(target) };
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    return {
      counter: ESTIMATE_COUNTER,
      problem: `tunekit.tokenizer "${want}" cannot be used (${why}); token counts are estimated from characters. Use ${OPENAI_ENCODINGS.join(' or ')}, or the path of a tokenizer.json.`,
    };
  }
}

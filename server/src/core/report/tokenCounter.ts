import type { RuleServices } from '../rules/rule';
import { estimateTokens } from '../tokens';

/**
 * Token counting for the report and `too-long`. The counter is injected (`services.tokenCounter`)
 * because loading a real tokenizer is I/O (a `tokenizer.json`) or a large table (tiktoken ranks);
 * without one the core falls back to a character-based estimate and says so.
 */
export interface TokenCounter {
  /** What counts: `o200k_base`, `tokenizer.json (Qwen2Tokenizer)`, `estimate`. */
  readonly name: string;
  /** False for the character-based estimate: every number it produces must be labelled as such. */
  readonly exact: boolean;
  count(text: string): number;
}

export const ESTIMATE_COUNTER: TokenCounter = { name: 'estimate', exact: false, count: estimateTokens };

export function tokenCounterOf(services: RuleServices): TokenCounter {
  const c = services['tokenCounter'] as Partial<TokenCounter> | undefined;
  return c && typeof c.count === 'function' && typeof c.name === 'string' ? (c as TokenCounter) : ESTIMATE_COUNTER;
}

/**
 * A counter for BPE tokenizers whose pre-tokenizer splits text into pieces that are encoded
 * independently (tiktoken): the count of a text is the sum of its pieces' counts, so counts are
 * cached per piece. Exact, and an order of magnitude faster on natural text, where pieces repeat.
 */
export function pieceCachedCounter(name: string, pattern: string, countPiece: (piece: string) => number, maxEntries = 500_000): TokenCounter {
  const re = new RegExp(pattern, 'gu');
  let cache = new Map<string, number>();
  return {
    name,
    exact: true,
    count(text: string): number {
      let n = 0;
      re.lastIndex = 0;
      for (let m = re.exec(text); m !== null; m = re.exec(text)) {
        const piece = m[0];
        if (piece === '') {
          re.lastIndex++;
          continue;
        }
        let c = cache.get(piece);
        if (c === undefined) {
          c = countPiece(piece);
          if (cache.size >= maxEntries) cache = new Map();
          cache.set(piece, c);
        }
        n += c;
      }
      return n;
    },
  };
}

/** Memoises whole-text counts of short, repeated strings (prompts, labels) for slow tokenizers. */
export function memoisedCounter(inner: TokenCounter, maxLength = 256, maxEntries = 200_000): TokenCounter {
  let cache = new Map<string, number>();
  return {
    name: inner.name,
    exact: inner.exact,
    count(text: string): number {
      if (text.length > maxLength) return inner.count(text);
      let c = cache.get(text);
      if (c === undefined) {
        c = inner.count(text);
        if (cache.size >= maxEntries) cache = new Map();
        cache.set(text, c);
      }
      return c;
    },
  };
}

import type { FormatName } from '../types';
import type { FormatContext, FormatDef, JsonObject } from './format';
import { alpacaFormat } from './alpaca';
import { classificationFormat } from './classification';
import { llamafactoryV1Format } from './llamafactoryV1';
import { messagesMediaFormat } from './messagesMedia';
import { minicpmVFormat } from './minicpmV';
import { openaiFormat } from './openai';
import { preferenceFormat } from './preference';
import { promptCompletionFormat } from './promptCompletion';
import { qaFormat } from './qa';
import { sharegptFormat } from './sharegpt';
import { textFormat } from './text';

export type { DatasetInfoEntry, FormatContext, FormatDef, JsonObject } from './format';

/** Every format, in tie-break order: earlier wins when two detect with the same score. */
export const FORMATS: readonly FormatDef[] = [
  preferenceFormat,
  openaiFormat,
  messagesMediaFormat,
  llamafactoryV1Format,
  sharegptFormat,
  minicpmVFormat,
  classificationFormat,
  alpacaFormat,
  promptCompletionFormat,
  qaFormat,
  textFormat,
];

const BY_NAME = new Map<FormatName, FormatDef>(FORMATS.map((f) => [f.name, f]));

export function formatByName(name: FormatName): FormatDef {
  return BY_NAME.get(name)!;
}

export interface Detection {
  /** The best-fitting format, or undefined when none fits. */
  best?: FormatDef;
  /** Every format that fits at all, best first. */
  candidates: FormatName[];
}

export function detectFormat(value: JsonObject, ctx: FormatContext): Detection {
  let best: FormatDef | undefined;
  let bestScore = 0;
  const scored: [FormatName, number][] = [];
  for (const f of FORMATS) {
    const s = f.detect(value, ctx);
    if (s <= 0) continue;
    scored.push([f.name, s]);
    if (s > bestScore) {
      best = f;
      bestScore = s;
    }
  }
  scored.sort((a, b) => b[1] - a[1]);
  return { best, candidates: scored.map(([n]) => n) };
}

/** For `unknown-format`: the format whose signature shares most keys with the record, and what it lacks. */
export function closestFormat(value: JsonObject): { format: FormatDef; has: string[]; lacks: string[] } {
  const keys = new Set(Object.keys(value));
  let bestFit: { format: FormatDef; has: string[]; lacks: string[] } | undefined;
  let bestScore = -Infinity;
  for (const f of FORMATS) {
    for (const sig of f.signatures) {
      const has = sig.filter((k) => keys.has(k));
      const lacks = sig.filter((k) => !keys.has(k));
      const score = has.length * 2 - lacks.length;
      if (score > bestScore) {
        bestScore = score;
        bestFit = { format: f, has, lacks };
      }
    }
  }
  return bestFit!;
}

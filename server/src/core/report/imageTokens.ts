import type { Target } from '../settings';

/**
 * How many tokens one image takes in the training sequence, per target. Fixed-resolution encoders
 * cost a constant; dynamic-resolution ones depend on the image's size, which the media probe
 * knows when it has read the header. Unknown sizes use ASSUMED_SIZE, and the rule says so.
 */
export interface ImageTokenRule {
  /** How the count is made, for the report ("Qwen2-VL 28 px patches, ≤ 768×768 px"). */
  describe: string;
  /** Tokens for an image of this size (or of ASSUMED_SIZE when unknown). */
  tokens(width?: number, height?: number): number;
  /** True when the count depends on the image's size. */
  byResolution: boolean;
}

/** The size assumed for images whose header was not read. */
export const ASSUMED_SIZE = { width: 1024, height: 1024 } as const;

/** Qwen2-VL's `smart_resize`: both sides multiples of 28, pixels within [min, max], aspect kept. */
export function qwenVlTokens(width: number, height: number, minPixels: number, maxPixels: number): number {
  const f = 28;
  let h = Math.max(f, Math.round(height / f) * f);
  let w = Math.max(f, Math.round(width / f) * f);
  if (h * w > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    h = Math.max(f, Math.floor(height / beta / f) * f);
    w = Math.max(f, Math.floor(width / beta / f) * f);
  } else if (h * w < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width));
    h = Math.ceil((height * beta) / f) * f;
    w = Math.ceil((width * beta) / f) * f;
  }
  return (h / f) * (w / f);
}

/** GPT-4o-class vision at detail "high": fit in 2048², shortest side ≤ 768, 170 per 512 px tile + 85. */
export function openaiImageTokens(width: number, height: number): number {
  let w = width;
  let h = height;
  const fit = Math.min(1, 2048 / Math.max(w, h));
  w *= fit;
  h *= fit;
  const shortest = Math.min(w, h);
  if (shortest > 768) {
    w *= 768 / shortest;
    h *= 768 / shortest;
  }
  return 85 + 170 * Math.ceil(w / 512) * Math.ceil(h / 512);
}

/** InternVL's `dynamic_preprocess`: 448 px tiles (256 tokens each) on the closest aspect-ratio grid, plus a thumbnail. */
export function internvlTokens(width: number, height: number, maxTiles = 6): number {
  const size = 448;
  const ratios: [number, number][] = [];
  for (let n = 1; n <= maxTiles; n++) for (let i = 1; i <= n; i++) for (let j = 1; j <= n; j++) if (i * j <= maxTiles && !ratios.some(([a, b]) => a === i && b === j)) ratios.push([i, j]);
  ratios.sort((a, b) => a[0] * a[1] - b[0] * b[1]);
  const aspect = width / height;
  const area = width * height;
  let best: [number, number] = [1, 1];
  let bestDiff = Infinity;
  for (const r of ratios) {
    const diff = Math.abs(aspect - r[0] / r[1]);
    if (diff < bestDiff) {
      bestDiff = diff;
      best = r;
    } else if (diff === bestDiff && area > 0.5 * size * size * r[0] * r[1]) best = r;
  }
  const tiles = best[0] * best[1];
  return 256 * (tiles === 1 ? 1 : tiles + 1);
}

/** MiniCPM-V 2.6: 64 query tokens for the whole image plus 64 per 448 px slice (at most 9) when it is sliced. */
export function minicpmVTokens(width: number, height: number): number {
  const slices = Math.min(9, Math.ceil((width * height) / (448 * 448)));
  return slices <= 1 ? 64 : 64 * (1 + slices);
}

function rule(describe: string, byResolution: boolean, f: (w: number, h: number) => number): ImageTokenRule {
  return {
    describe,
    byResolution,
    tokens: (w, h) => (w && h && w > 0 && h > 0 ? f(w, h) : f(ASSUMED_SIZE.width, ASSUMED_SIZE.height)),
  };
}

export function imageTokenRule(target: Target, override = 0): ImageTokenRule {
  if (override > 0) return rule(`${override} per image (tunekit.report.imageTokens)`, false, () => override);
  switch (target) {
    case 'openai':
    case 'together':
      return rule('OpenAI vision, detail high: 85 + 170 per 512 px tile', true, openaiImageTokens);
    case 'llava':
      return rule('LLaVA-1.5: 576 per image (336 px, 14 px patches)', false, () => 576);
    case 'minicpm-v':
      return rule('MiniCPM-V 2.6: 64 per 448 px slice plus 64 for the whole image', true, minicpmVTokens);
    case 'internvl':
      return rule('InternVL: 256 per 448 px tile, up to 6 tiles plus a thumbnail', true, internvlTokens);
    case 'qwen-vl':
      return rule('Qwen2.5-VL: one token per 28×28 px, 4 to 16,384 per image', true, (w, h) => qwenVlTokens(w, h, 56 * 56, 16384 * 28 * 28));
    default:
      return rule('Qwen2-VL-style 28×28 px tokens, images scaled to at most 768×768 px (LLaMA-Factory default)', true, (w, h) => qwenVlTokens(w, h, 32 * 32, 768 * 768));
  }
}

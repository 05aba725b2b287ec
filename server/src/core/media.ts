import * as path from 'node:path';
import type { FormatContext, JsonObject } from './formats';
import type { JsonPath, MediaKind, MediaRef, Sample, TextPiece } from './types';

/**
 * Media references: where they point (path resolution as FORMATS.md says), what the injected
 * `MediaProbe` knows about them, and how placeholders in the text bind to them. Pure: the probe
 * does the file-system work.
 */

/** What a probe found at one location (an absolute path, a `data:` URI or an http(s) URL). */
export interface MediaInfo {
  /** `missing`: no such file; `unreadable`: exists but no supported header; `remote`: a URL that was not fetched. */
  status: 'ok' | 'missing' | 'unreadable' | 'remote';
  /** The type the header says (`png`, `jpeg`, `webp`, `mp4`, `wav`…), whatever the file is called. */
  type?: string;
  kind?: MediaKind;
  mime?: string;
  width?: number;
  height?: number;
  /** Bytes: the file's size, or the decoded size of a `data:` URI. */
  size?: number;
  /** Why it is unreadable, as a clause ("the file is empty"). */
  problem?: string;
}

/**
 * The one media prober (injected as `services.mediaProbe`). `peek` answers from the cache, or at
 * once for what needs no I/O (`data:` URIs); `probe` does the work and fills the cache.
 */
export interface MediaProbe {
  peek(target: string): MediaInfo | undefined;
  probe(target: string): Promise<MediaInfo>;
  /** Probes the targets in order until one exists (optional: without it every candidate is probed at once). */
  probeFirst?(targets: readonly string[]): Promise<{ target: string; info: MediaInfo } | undefined>;
}

export function mediaProbeOf(services: Record<string, unknown>): MediaProbe | undefined {
  const p = services['mediaProbe'] as Partial<MediaProbe> | undefined;
  return p && typeof p.peek === 'function' && typeof p.probe === 'function' ? (p as MediaProbe) : undefined;
}

export type RefKind = 'file' | 'data' | 'remote';

export function refKind(ref: string): RefKind {
  if (/^data:/i.test(ref)) return 'data';
  if (/^https?:\/\//i.test(ref)) return 'remote';
  return 'file';
}

/** Where a reference may live, in the order trainers look (FORMATS.md "Path resolution"). */
export interface MediaLocation {
  kind: RefKind;
  /** Probe targets in order; the first that exists is the file. One entry for URIs and absolute paths. */
  candidates: string[];
  /** The same targets in the order messages name them: the main folders first, the fallbacks last. */
  display: string[];
}

/** How many folders above the dataset's folder a relative path may resolve against. */
const MAX_PARENT_LEVELS = 3;

/**
 * Candidate locations of a media reference: an absolute path as is; a relative one against
 * `tunekit.mediaRoot`, the dataset's folder, the folder of its `dataset_info.json`, then the
 * folders above the dataset's folder (up to the workspace folder, at most three levels): v1
 * LLaMA-Factory data and many training scripts write paths relative to the project root they run
 * from (`data/mllm_demo_data/1.jpg` next to `data/v1_multimodal_demo.jsonl`).
 */
export function mediaLocation(ref: string, ctx: FormatContext, record?: JsonObject): MediaLocation {
  const kind = refKind(ref);
  if (kind !== 'file') return { kind, candidates: [ref], display: [ref] };
  let p = ref;
  if (/^file:\/\//i.test(p)) {
    try {
      p = decodeURIComponent(new URL(p).pathname);
      if (/^\/[a-zA-Z]:\//.test(p)) p = p.slice(1);
    } catch {
      // Not a valid URI: treat it as a plain path.
    }
  }
  if (path.isAbsolute(p)) return { kind, candidates: [path.normalize(p)], display: [path.normalize(p)] };
  if (p.trim() === '') return { kind, candidates: [], display: [] };
  const bases: string[] = [];
  const mediaRoot = ctx.settings.mediaRoot.trim();
  if (mediaRoot) {
    const anchor = ctx.rootDir ?? ctx.fileDir;
    if (path.isAbsolute(mediaRoot)) bases.push(mediaRoot);
    else if (anchor) bases.push(path.resolve(anchor, mediaRoot));
  }
  if (ctx.fileDir) bases.push(ctx.fileDir);
  if (ctx.datasetInfo?.dir) bases.push(ctx.datasetInfo.dir);
  const parents = ctx.fileDir ? parentsOf(ctx.fileDir, ctx.rootDir) : [];
  const main = bases.map((b) => path.resolve(b, p));
  const fallback = parents.map((b) => path.resolve(b, p));
  // Qwen-VL's classification data names its image folder per record (`data_path`); its loader looks there.
  const viaDataPath: string[] = [];
  const dataPath = record?.['data_path'];
  if (typeof dataPath === 'string' && dataPath.trim()) {
    if (path.isAbsolute(dataPath)) viaDataPath.push(path.join(dataPath, p));
    else for (const b of [...bases, ...parents]) viaDataPath.push(path.resolve(b, dataPath, p));
  }
  return { kind, candidates: [...new Set([...viaDataPath, ...main, ...fallback])], display: [...new Set([...main, ...viaDataPath, ...fallback])] };
}

function parentsOf(dir: string, root: string | undefined): string[] {
  const out: string[] = [];
  const inside = root !== undefined && isInside(dir, root);
  let cur = dir;
  for (let i = 0; i < MAX_PARENT_LEVELS; i++) {
    if (inside && path.resolve(cur) === path.resolve(root)) break;
    const up = path.dirname(cur);
    if (up === cur) break;
    out.push(up);
    cur = up;
  }
  return out;
}

export function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** The answer for a reference: the first candidate that exists, or why none does. */
export interface ResolvedMedia {
  location: MediaLocation;
  /** The candidate that exists (or the URI itself); undefined when nothing was found. */
  target?: string;
  info?: MediaInfo;
  /** True when a candidate is not probed yet (the answer may change). */
  pending: boolean;
}

/**
 * Resolves a reference with what the probe already knows; unknown candidates are probed in the
 * background (`onPending` receives the promises, so a caller that can wait does).
 */
export function resolveMedia(ref: string, ctx: FormatContext, probe: MediaProbe, opts: { fetchRemote: boolean; record?: JsonObject; onPending?: (p: Promise<unknown>) => void }): ResolvedMedia {
  const location = mediaLocation(ref, ctx, opts.record);
  if (location.kind === 'remote' && !opts.fetchRemote) {
    return { location, target: ref, info: { status: 'remote' }, pending: false };
  }
  for (let i = 0; i < location.candidates.length; i++) {
    const c = location.candidates[i]!;
    const info = probe.peek(c);
    if (info === undefined) {
      // One job answers the whole reference: the remaining candidates in order until one exists.
      const rest = location.candidates.slice(i);
      const jobs: Promise<unknown>[] = probe.probeFirst ? [probe.probeFirst(rest)] : rest.filter((c) => probe.peek(c) === undefined).map((c) => probe.probe(c));
      for (const job of jobs) {
        const quiet = job.catch(() => undefined);
        opts.onPending?.(quiet);
      }
      return { location, pending: true };
    }
    if (info.status !== 'missing') return { location, target: c, info, pending: false };
  }
  return { location, pending: false };
}

/** "a, b and 3 more places" for messages that name the paths tried. */
export function describeTried(candidates: readonly string[], max = 3): string {
  if (candidates.length === 0) return 'nothing to look up';
  const shown = candidates.slice(0, max).join(', ');
  const more = candidates.length - max;
  return more > 0 ? `${shown} and ${more} more place${more === 1 ? '' : 's'}` : shown;
}

/** A `data:` URI split into its parts (no decoding). */
export interface DataUri {
  mime: string;
  base64: boolean;
  /** Offset of the payload in the URI. */
  payloadStart: number;
}

export function parseDataUri(uri: string): DataUri | undefined {
  const comma = uri.indexOf(',');
  if (!/^data:/i.test(uri) || comma < 0) return undefined;
  const meta = uri.slice(5, comma).split(';');
  const mime = (meta[0] ?? '').trim().toLowerCase();
  return { mime, base64: meta.slice(1).some((m) => m.trim().toLowerCase() === 'base64'), payloadStart: comma + 1 };
}

// ---------------------------------------------------------------------------------------------
// Placeholders

/** A media placeholder in the text: `<image>`, `<video>`, `<audio>`, or a numbered `<image_00>`. */
export interface Placeholder {
  kind: MediaKind;
  token: string;
  /** Numbered placeholders (MiniCPM-V): the token itself is the key of the `image` map. */
  numbered: boolean;
  turn: number;
  piece: TextPiece;
  start: number;
  length: number;
}

/** A Qwen-VL v1 inline image: `<img>path</img>` inside the text; the span covers the path. */
export interface InlineMedia extends MediaRef {
  span: { start: number; length: number };
}

const PLACEHOLDER_RE = /<(image|video|audio)>|<image_(\d+)>|<img>([^<]*)<\/img>/g;

export interface MediaScan {
  placeholders: Placeholder[];
  inline: InlineMedia[];
}

/** Finds placeholders and inline images in every turn's text, in reading order. */
export function scanPlaceholders(sample: Sample): MediaScan {
  const placeholders: Placeholder[] = [];
  const inline: InlineMedia[] = [];
  sample.turns.forEach((turn, t) => {
    for (const piece of turn.texts) {
      PLACEHOLDER_RE.lastIndex = 0;
      for (let m = PLACEHOLDER_RE.exec(piece.text); m; m = PLACEHOLDER_RE.exec(piece.text)) {
        if (m[1]) {
          placeholders.push({ kind: m[1] as MediaKind, token: m[0], numbered: false, turn: t, piece, start: m.index, length: m[0].length });
        } else if (m[2] !== undefined) {
          placeholders.push({ kind: 'image', token: m[0], numbered: true, turn: t, piece, start: m.index, length: m[0].length });
        } else if (m[3] !== undefined) {
          const raw = m[3];
          const lead = raw.length - raw.trimStart().length;
          const ref = raw.trim();
          if (ref) inline.push({ kind: 'image', ref, path: piece.path, turn: t, span: { start: m.index + 5 + lead, length: ref.length } });
        }
      }
    }
  });
  return { placeholders, inline };
}

/** Media listed beside the conversation (bound by placeholders), as opposed to parts inside turns. */
export function listedMedia(sample: Sample): MediaRef[] {
  return sample.media.filter((m) => m.turn === undefined);
}

/**
 * The media a placeholder stands for: the n-th `<image>` binds to the n-th listed image, a
 * numbered one to its map entry; a MiniCPM-V single image binds to its only `<image>`.
 */
export function bindPlaceholder(sample: Sample, scan: MediaScan, ph: Placeholder): MediaRef | undefined {
  const listed = listedMedia(sample);
  if (ph.numbered || listed.some((m) => m.key !== undefined)) {
    return listed.find((m) => m.key === ph.token);
  }
  const ofKind = listed.filter((m) => m.kind === ph.kind);
  const n = scan.placeholders.filter((p) => !p.numbered && p.kind === ph.kind).indexOf(ph);
  return n >= 0 ? ofKind[n] : undefined;
}

/** Every media reference of a record (listed, in parts, inline `<img>`), in reading order where known. */
export function allMedia(sample: Sample, scan: MediaScan = scanPlaceholders(sample)): MediaRef[] {
  return [...sample.media, ...scan.inline];
}

/** True when two JSON paths are equal. */
export function samePath(a: JsonPath, b: JsonPath): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

const KIND_NOUN: Record<MediaKind, string> = { image: 'image', video: 'video', audio: 'audio' };
export function kindNoun(kind: MediaKind, n = 1): string {
  return n === 1 ? KIND_NOUN[kind] : kind === 'audio' ? 'audios' : `${KIND_NOUN[kind]}s`;
}

/** Human-readable byte size ("12.3 KB"). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GB`;
}

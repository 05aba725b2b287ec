import { CODES } from './codes';
import { detectFormat, formatByName, type FormatContext, type JsonObject } from './formats';
import {
  allMedia,
  bindPlaceholder,
  listedMedia,
  mediaLocation,
  resolveMedia,
  scanPlaceholders,
  type MediaProbe,
  type MediaScan,
} from './media';
import type { MediaRef, Sample } from './types';

/**
 * What the sample preview and the gallery show, computed from one record's text: its turns as a
 * chat with media where their placeholders stand, each medium resolved through the media probe.
 * Pure: the language server feeds it record texts and its probe.
 */

export type PreviewRole = 'system' | 'user' | 'assistant' | 'tool' | 'tool_call' | 'unknown';
export type PreviewMediaKind = 'image' | 'video' | 'audio';

/** A problem shown on a media tile or on the record. */
export interface PreviewProblem {
  code: string;
  severity: 'error' | 'warning' | 'info' | 'hint';
  message: string;
}

export interface PreviewMedia {
  kind: PreviewMediaKind;
  /** The reference as written in the record (a data: URI is shortened). */
  ref: string;
  /** Absolute local path of the file, when it was found. */
  file?: string;
  /** An http(s) URL: shown as a link, never loaded by the webview. */
  url?: string;
  /** True for inline data: URIs (described, not rendered: the webview loads images only from local files). */
  inline?: boolean;
  /** Header facts from the media probe. */
  type?: string;
  width?: number;
  height?: number;
  size?: number;
  /** The diagnostic that concerns this medium (not found, unreadable…). */
  problem?: PreviewProblem;
  /** True for media the loader places itself (no placeholder in the text). */
  placedByLoader?: boolean;
}

export type PreviewPart = { type: 'text'; text: string } | { type: 'media'; media: PreviewMedia };

export interface PreviewTurn {
  role: PreviewRole;
  /** The role as written (`human`, `gpt`…). */
  rawRole: string;
  parts: PreviewPart[];
}

export interface SamplePreview {
  uri: string;
  /** 0-based record index and the record's first line. */
  record: number;
  line: number;
  records: number;
  format?: string;
  turns: PreviewTurn[];
  /** Every diagnostic of the record (media ones are also on their tiles). */
  problems: PreviewProblem[];
  /** Set when the record is not valid JSON or of no known format. */
  unreadable?: string;
}

/** A record parsed, detected and normalised (what the preview and hover start from). */
export interface ParsedRecord {
  value?: JsonObject;
  sample?: Sample;
  scan?: MediaScan;
  /** Why there is no sample. */
  error?: string;
}

export function parseRecord(text: string, ctx: FormatContext): ParsedRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { error: 'This record is not valid JSON.' };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { error: 'This record is not a JSON object.' };
  const obj = value as JsonObject;
  const format = ctx.settings.format !== 'auto' ? formatByName(ctx.settings.format) : detectFormat(obj, ctx).best;
  if (!format) return { value: obj, error: 'This record matches no known dataset format.' };
  const sample = format.normalise(obj, ctx);
  return { value: obj, sample, scan: scanPlaceholders(sample) };
}

export interface MediaResolver {
  ctx: FormatContext;
  probe?: MediaProbe;
  /** Problems of the record keyed by the reference they are about (`Finding.data.ref`). */
  problems?: ReadonlyMap<string, PreviewProblem>;
  record?: JsonObject;
}

const MAX_SHOWN_REF = 120;

/** A medium as the webviews show it: resolved path or URL, header facts, and its problem if any. */
export function describeMedia(m: MediaRef, r: MediaResolver): PreviewMedia {
  const out: PreviewMedia = { kind: m.kind, ref: m.ref.length > MAX_SHOWN_REF ? `${m.ref.slice(0, MAX_SHOWN_REF)}…` : m.ref };
  const location = mediaLocation(m.ref, r.ctx, r.record);
  if (location.kind === 'remote') out.url = m.ref;
  if (location.kind === 'data') out.inline = true;
  const problem = r.problems?.get(m.ref);
  if (problem) out.problem = problem;
  if (r.probe) {
    // No remote fetches from here: the preview shows URLs as links.
    const res = resolveMedia(m.ref, r.ctx, r.probe, { fetchRemote: false, ...(r.record ? { record: r.record } : {}) });
    if (res.target && res.info && location.kind === 'file') out.file = res.target;
    const info = res.info;
    if (info && info.status !== 'remote') {
      if (info.type) out.type = info.type;
      if (info.width !== undefined) out.width = info.width;
      if (info.height !== undefined) out.height = info.height;
      if (info.size !== undefined) out.size = info.size;
    }
  }
  return out;
}

/**
 * The record's turns as a chat: text split at placeholders, each placeholder replaced by the
 * medium it binds to; media inside content parts stay where the parts are; listed media that no
 * placeholder names are put where loaders put them (in front of the first user turn).
 */
export function previewTurns(sample: Sample, scan: MediaScan, describe: (m: MediaRef) => PreviewMedia, unbound?: (kind: MediaRef['kind'], token: string) => PreviewMedia): PreviewTurn[] {
  const bound = new Set<MediaRef>();
  const turns: PreviewTurn[] = sample.turns.map((turn, t) => {
    type Piece = { order: number; parts: PreviewPart[] };
    const pieces: Piece[] = [];
    const orderOf = (path: readonly (string | number)[]): number => {
      const i = turn.contentPath.length;
      const v = path[i];
      return typeof v === 'number' ? v : 0;
    };
    for (const piece of turn.texts) {
      const parts: PreviewPart[] = [];
      const marks = [
        ...scan.placeholders
          .filter((p) => p.turn === t && p.piece === piece)
          .map((p) => ({ start: p.start, end: p.start + p.length, media: bindPlaceholder(sample, scan, p), kind: p.kind, token: p.token })),
        ...scan.inline
          .filter((m) => m.turn === t && m.path === piece.path)
          .map((m) => ({ start: piece.text.lastIndexOf('<img>', m.span.start), end: piece.text.indexOf('</img>', m.span.start) + 6, media: m, kind: m.kind, token: '<img>' })),
      ].sort((a, b) => a.start - b.start);
      let at = 0;
      for (const mark of marks) {
        if (mark.start > at) parts.push({ type: 'text', text: piece.text.slice(at, mark.start) });
        if (mark.media) {
          bound.add(mark.media);
          parts.push({ type: 'media', media: describe(mark.media) });
        } else if (unbound) {
          // A placeholder with nothing to bind to: a broken tile where the trainer expects media.
          parts.push({ type: 'media', media: unbound(mark.kind, mark.token) });
        } else {
          parts.push({ type: 'text', text: piece.text.slice(mark.start, mark.end) });
        }
        at = mark.end;
      }
      if (at < piece.text.length) parts.push({ type: 'text', text: piece.text.slice(at) });
      pieces.push({ order: orderOf(piece.path), parts });
    }
    for (const m of turn.mediaParts) {
      bound.add(m);
      pieces.push({ order: orderOf(m.path), parts: [{ type: 'media', media: describe(m) }] });
    }
    pieces.sort((a, b) => a.order - b.order);
    return { role: turn.role, rawRole: turn.rawRole, parts: pieces.flatMap((p) => p.parts) };
  });
  const unplaced = listedMedia(sample).filter((m) => !bound.has(m));
  if (unplaced.length) {
    let first = turns.find((t) => t.role === 'user');
    if (!first) {
      first = { role: 'user', rawRole: '', parts: [] };
      turns.unshift(first);
    }
    first.parts.unshift(...unplaced.map((m): PreviewPart => ({ type: 'media', media: { ...describe(m), placedByLoader: true } })));
  }
  return turns;
}

/** The images of a record in reading order (listed ones first, as placeholders bind them). */
export function imagesOf(sample: Sample, scan: MediaScan): MediaRef[] {
  return allMedia(sample, scan).filter((m) => m.kind === 'image');
}

/** The first words of the record's question, without placeholders. */
export function captionOf(sample: Sample, words = 12): string {
  const turn = sample.turns.find((t) => t.role === 'user') ?? sample.turns.find((t) => t.texts.length > 0);
  const text = (turn?.texts.map((p) => p.text).join(' ') ?? '')
    .replace(/<img>[^<]*<\/img>/g, ' ')
    .replace(/<(image|video|audio)(_\d+)?>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const list = text.split(' ');
  return list.length > words ? `${list.slice(0, words).join(' ')}…` : text;
}

/** A diagnostic as the preview needs it (a `Finding` of the record). */
export interface RecordFinding {
  code: string;
  severity: PreviewProblem['severity'];
  message: string;
  data?: Record<string, unknown>;
}

/** Media problems keyed by the reference they concern (rules put it in `data.ref`). */
export function problemsByRef(findings: readonly RecordFinding[]): Map<string, PreviewProblem> {
  const out = new Map<string, PreviewProblem>();
  for (const f of findings) {
    const ref = f.data?.['ref'];
    if (typeof ref === 'string' && !out.has(ref)) out.set(ref, { code: f.code, severity: f.severity, message: f.message });
  }
  return out;
}

/** The sample preview of one record. */
export function samplePreview(
  where: { uri: string; record: number; line: number; records: number },
  text: string,
  ctx: FormatContext,
  probe: MediaProbe | undefined,
  findings: readonly RecordFinding[],
): SamplePreview {
  const parsed = parseRecord(text, ctx);
  const problems = findings.map((f) => ({ code: f.code, severity: f.severity, message: f.message }));
  const out: SamplePreview = { ...where, turns: [], problems };
  if (!parsed.sample || !parsed.scan) {
    out.unreadable = parsed.error ?? 'This record cannot be read.';
    return out;
  }
  out.format = parsed.sample.format;
  const resolver: MediaResolver = { ctx, problems: problemsByRef(findings), ...(probe ? { probe } : {}), ...(parsed.value ? { record: parsed.value } : {}) };
  const placeholderProblem = findings.find((f) => f.code === 'media-token-mismatch' || f.code === 'unknown-placeholder');
  out.turns = previewTurns(
    parsed.sample,
    parsed.scan,
    (m) => describeMedia(m, resolver),
    (kind, token) => ({
      kind,
      ref: token,
      problem: placeholderProblem
        ? { code: placeholderProblem.code, severity: placeholderProblem.severity, message: placeholderProblem.message }
        : { code: 'media-token-mismatch', severity: 'error', message: `${token} has no ${kind} to stand for.` },
    }),
  );
  return out;
}

/** What the gallery knows about each record without reading it: its position, image count and whether it has media problems. */
export interface GalleryRecord {
  index: number;
  line: number;
  images: number;
  hasProblem: boolean;
}

export interface GalleryPageInput {
  records: readonly GalleryRecord[];
  offset: number;
  limit: number;
  filter: 'all' | 'problems';
  /** Reads one record (only the records of the page are read). */
  read(record: GalleryRecord): { text: string; findings: readonly RecordFinding[] };
  ctx: FormatContext;
  probe?: MediaProbe;
}

export interface GalleryItemData {
  record: number;
  line: number;
  media: PreviewMedia;
  caption: string;
}

/**
 * One page of the gallery: tiles are counted from the per-record image counts, so only the
 * records on the page are parsed; a 100,000-image file opens at the cost of one page. With the
 * `problems` filter, a record with media problems but no image gets one broken tile.
 */
export function galleryPage(input: GalleryPageInput): { total: number; problemRecords: number; items: GalleryItemData[] } {
  const tilesOf = (r: GalleryRecord): number => (input.filter === 'problems' ? (r.hasProblem ? Math.max(1, r.images) : 0) : r.images);
  let total = 0;
  let problemRecords = 0;
  for (const r of input.records) {
    total += tilesOf(r);
    if (r.hasProblem) problemRecords++;
  }
  const items: GalleryItemData[] = [];
  const end = Math.min(total, input.offset + Math.max(0, input.limit));
  let seen = 0;
  for (const r of input.records) {
    if (seen >= end) break;
    const n = tilesOf(r);
    if (n === 0 || seen + n <= input.offset) {
      seen += n;
      continue;
    }
    const { text, findings } = input.read(r);
    const parsed = parseRecord(text, input.ctx);
    const problems = problemsByRef(findings);
    const caption = parsed.sample ? captionOf(parsed.sample) : '';
    const resolver: MediaResolver = { ctx: input.ctx, problems, ...(input.probe ? { probe: input.probe } : {}), ...(parsed.value ? { record: parsed.value } : {}) };
    const images = parsed.sample && parsed.scan ? imagesOf(parsed.sample, parsed.scan) : [];
    const firstProblem = findings.find((f) => MEDIA_CODES.has(f.code));
    for (let i = 0; i < n; i++, seen++) {
      if (seen < input.offset || seen >= end) continue;
      const m = images[i];
      const media: PreviewMedia = m
        ? describeMedia(m, resolver)
        : { kind: 'image', ref: '', ...(firstProblem ? { problem: { code: firstProblem.code, severity: firstProblem.severity, message: firstProblem.message } } : {}) };
      items.push({ record: r.index, line: r.line, media, caption });
    }
  }
  return { total, problemRecords, items };
}

/** The Modalities family: what the gallery's problem filter shows. */
export const MEDIA_CODES: ReadonlySet<string> = new Set(Object.entries(CODES).filter(([, info]) => info.family === 'media').map(([code]) => code));

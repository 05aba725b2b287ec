import { pathToFileURL } from 'node:url';
import { formatBytes, kindNoun, type MediaInfo, type ResolvedMedia } from '../core/media';
import type { MediaKind } from '../core/types';

/**
 * Markdown for hovers on media references and on records. Local images are embedded by file URI,
 * scaled with VS Code's `|width=…,height=…` image suffix; remote URLs are links only (the editor
 * would fetch an embedded remote image).
 */

/** Escapes text for Markdown (paths and references are user data). */
export function escapeMarkdown(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, (c) => `\\${c}`);
}

function code(s: string): string {
  const fence = s.includes('`') ? '``' : '`';
  return `${fence}${s.length > 200 ? `${s.slice(0, 200)}…` : s}${fence}`;
}

/** The size an image is shown at: its longer side scaled to `box` pixels, aspect ratio kept. */
export function scaledSize(width: number, height: number, box: number): { width: number; height: number } {
  const scale = box / Math.max(width, height);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** Data URIs up to this length are embedded in the hover; longer ones are described only. */
const MAX_EMBEDDED_DATA_URI = 200_000;

function facts(info: MediaInfo): string {
  const bits: string[] = [];
  if (info.type) bits.push(info.type.toUpperCase());
  if (info.width !== undefined && info.height !== undefined) bits.push(`${info.width} × ${info.height} px`);
  if (info.size !== undefined) bits.push(formatBytes(info.size));
  return bits.join(' · ');
}

export interface MediaHoverInput {
  kind: MediaKind;
  ref: string;
  resolved: ResolvedMedia;
  /** Longest side of the embedded image (tunekit.preview.hoverSize). */
  hoverSize: number;
  fetchRemote: boolean;
  /** For a placeholder: what it is and which entry it binds to, e.g. "`<image>` 2 of 2 → images[1]". */
  heading?: string;
}

export function mediaHoverMarkdown(input: MediaHoverInput): string {
  const { kind, ref, resolved } = input;
  const lines: string[] = [];
  const title = `**${kindNoun(kind).charAt(0).toUpperCase()}${kindNoun(kind).slice(1)}**`;
  if (input.heading) lines.push(input.heading, '');
  const info = resolved.info;
  if (resolved.location.kind === 'remote') {
    lines.push(`${title} · remote · [${escapeMarkdown(ref)}](${ref.replace(/[()\s]/g, encodeURIComponent)})`);
    if (!input.fetchRemote) lines.push('', 'Not fetched: `tunekit.media.fetchRemote` is off.');
    else if (info && info.status !== 'remote') lines.push('', info.status === 'ok' ? facts(info) : `⚠ ${info.status === 'missing' ? 'not found on the server' : (info.problem ?? 'unreadable')}`);
    return lines.join('\n');
  }
  const shownRef = resolved.location.kind === 'data' ? `${ref.slice(0, ref.indexOf(',') + 1)}…` : ref;
  lines.push(`${title} · ${code(shownRef)}`);
  if (resolved.pending) {
    lines.push('', 'Checking the file…');
    return lines.join('\n');
  }
  if (!resolved.target || !info) {
    lines.push('', `⚠ Not found. Tried: ${resolved.location.display.slice(0, 6).map(code).join(', ')}${resolved.location.display.length > 6 ? ` and ${resolved.location.display.length - 6} more` : ''}`);
    return lines.join('\n');
  }
  if (info.status === 'unreadable') {
    lines.push('', `⚠ ${resolved.location.kind === 'data' ? 'The data: URI' : 'The file'} ${info.problem ?? 'cannot be decoded'}.`);
    if (resolved.location.kind === 'file') lines.push('', code(resolved.target));
    return lines.join('\n');
  }
  if (info.kind === 'image' && info.width && info.height) {
    const size = scaledSize(info.width, info.height, input.hoverSize);
    const src = resolved.location.kind === 'data' ? (resolved.target.length <= MAX_EMBEDDED_DATA_URI ? resolved.target : undefined) : pathToFileURL(resolved.target).href;
    if (src) lines.push('', `![${escapeMarkdown(shownRef)}](${src}|width=${size.width},height=${size.height})`);
  }
  lines.push('', facts(info));
  if (info.kind && info.kind !== kind) lines.push('', `⚠ This is ${kindNoun(info.kind)}, not ${kindNoun(kind)}.`);
  if (resolved.location.kind === 'file') lines.push('', `[${escapeMarkdown(resolved.target)}](${pathToFileURL(resolved.target).href})`);
  return lines.join('\n');
}

export interface RecordHoverInput {
  record: number;
  line: number;
  format?: string;
  turns: number;
  media: Record<MediaKind, number>;
  approxTokens: number;
}

export function recordHoverMarkdown(r: RecordHoverInput): string {
  const media = (['image', 'video', 'audio'] as const)
    .filter((k) => r.media[k] > 0)
    .map((k) => `${r.media[k]} ${kindNoun(k, r.media[k])}`);
  return [
    `**Record ${r.record + 1}** (line ${r.line + 1})${r.format ? ` · ${r.format}` : ''}`,
    '',
    `${r.turns} turn${r.turns === 1 ? '' : 's'} · ${media.length ? media.join(', ') : 'no media'} · ≈ ${r.approxTokens.toLocaleString('en-US')} tokens`,
  ].join('\n');
}


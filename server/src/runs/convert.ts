import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { detectFormat, formatByName, type FormatContext, type JsonObject } from '../core/formats';
import { mediaLocation } from '../core/media';
import { JsonArrayScanner } from '../core/records/jsonArray';
import { JsonlSplitter } from '../core/records/jsonl';
import type { Settings } from '../core/settings';
import type { MediaKind, RawRecord, Sample, Turn } from '../core/types';
import { fileKindOf } from '../core/validator';
import { datasetInfoFor, readHead } from '../node/files';

/**
 * Converts a dataset, whatever its format, to the one layout every recipe reads: JSON Lines of
 * `{"messages":[{"role","content"}], "images":[…], "videos":[…], "audios":[…]}` with `<image>`
 * placeholders in the text. That is LLaMA-Factory's sharegpt layout with OpenAI-style tags and
 * ms-swift's standard layout, so one converted file serves both. Local media are mapped into the
 * bundle's `media/` folder, and the records point at them relative to the run's working folder
 * (which is LLaMA-Factory's `media_dir`), so no path depends on where the data came from.
 */

export interface ConvertedRecord {
  messages: { role: string; content: string }[];
  images?: string[];
  videos?: string[];
  audios?: string[];
}

export interface MediaCopy {
  /** Absolute local path. */
  source: string;
  /** Path inside the bundle (`media/…`, POSIX separators). */
  target: string;
}

export interface ConvertResult {
  records: number;
  /** Records dropped because they had no user/assistant exchange left after conversion. */
  skipped: number;
  media: MediaCopy[];
  /** Local media references that do not exist (pre-flight normally reports them first). */
  missingMedia: string[];
}

const PLACEHOLDER: Record<MediaKind, string> = { image: '<image>', video: '<video>', audio: '<audio>' };
const LIST_KEY: Record<MediaKind, 'images' | 'videos' | 'audios'> = { image: 'images', video: 'videos', audio: 'audios' };

/**
 * Converts `file` into `outFile`. `bundleRoot` is the folder the bundle's media paths are relative
 * to; `mediaMap` (shared between datasets) gives each local media file a single bundle path.
 */
export async function convertDataset(file: string, outFile: string, opts: { settings: Settings; rootDir?: string; mediaMap: Map<string, string> }): Promise<ConvertResult> {
  const head = readHead(file, 4096);
  const kind = fileKindOf(file, head);
  const datasetInfo = datasetInfoFor(file);
  const ctx: FormatContext = { settings: opts.settings, fileDir: path.dirname(path.resolve(file)), ...(opts.rootDir ? { rootDir: opts.rootDir } : {}), ...(datasetInfo ? { datasetInfo } : {}) };
  const result: ConvertResult = { records: 0, skipped: 0, media: [], missingMedia: [] };
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  const lines: string[] = [];
  const seen = new Set<string>();
  const onRecord = (r: RawRecord): void => {
    const converted = convertRecordText(r.text, ctx, (abs) => bundlePathFor(abs, opts.mediaMap, opts.rootDir, result, seen), result);
    if (!converted) {
      result.skipped++;
      return;
    }
    lines.push(JSON.stringify(converted));
    result.records++;
  };
  const splitter = kind === 'jsonl' ? new JsonlSplitter(onRecord) : new JsonArrayScanner(onRecord, () => undefined);
  const decoder = new StringDecoder('utf8');
  const out = fs.createWriteStream(outFile + '.tmp');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    splitter.push(decoder.write(chunk));
    if (lines.length) await write(out, lines.splice(0).join('\n') + '\n');
  }
  splitter.push(decoder.end());
  splitter.end();
  if (lines.length) await write(out, lines.splice(0).join('\n') + '\n');
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  replaceIfChanged(outFile + '.tmp', outFile);
  return result;
}

function write(out: fs.WriteStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => out.write(text, (e) => (e ? reject(e) : resolve())));
}

/**
 * Moves `tmp` over `target` only when the content differs, so an unchanged file keeps its
 * modification time and rsync's quick check skips it on the next launch.
 */
export function replaceIfChanged(tmp: string, target: string): void {
  if (fs.existsSync(target) && sameContent(tmp, target)) {
    fs.rmSync(tmp);
    return;
  }
  fs.renameSync(tmp, target);
}

function sameContent(a: string, b: string): boolean {
  const sa = fs.statSync(a);
  const sb = fs.statSync(b);
  if (sa.size !== sb.size) return false;
  return sha256File(a) === sha256File(b);
}

export function sha256File(file: string): string {
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/** The bundle path of a local media file: its path below the project root when inside it, else a stable hashed folder. */
function bundlePathFor(abs: string, mediaMap: Map<string, string>, rootDir: string | undefined, result: ConvertResult, seen: Set<string>): string {
  const known = mediaMap.get(abs);
  if (known) {
    if (!seen.has(abs)) {
      seen.add(abs);
      result.media.push({ source: abs, target: known });
    }
    return known;
  }
  let rel: string;
  const fromRoot = rootDir ? path.relative(rootDir, abs) : '..';
  if (!fromRoot.startsWith('..') && !path.isAbsolute(fromRoot)) rel = fromRoot.split(path.sep).join('/');
  else rel = `_external/${crypto.createHash('sha256').update(abs).digest('hex').slice(0, 12)}/${path.basename(abs)}`;
  const target = `media/${rel}`;
  mediaMap.set(abs, target);
  seen.add(abs);
  result.media.push({ source: abs, target });
  return target;
}

/**
 * Converts one record's text. Returns undefined for records that cannot be trained on (not JSON,
 * no recognisable format, no turns): pre-flight validation has already reported them.
 */
export function convertRecordText(text: string, ctx: FormatContext, mapMedia: (absPath: string) => string, result?: Pick<ConvertResult, 'missingMedia'>): ConvertedRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const obj = value as JsonObject;
  const forced = ctx.settings.format !== 'auto' ? formatByName(ctx.settings.format) : undefined;
  const format = forced ?? detectFormat(obj, ctx).best;
  if (!format) return undefined;
  let sample: Sample;
  try {
    sample = format.normalise(obj, ctx);
  } catch {
    return undefined;
  }
  return convertSample(sample, (ref) => resolveRef(ref, ctx, obj, mapMedia, result));
}

function resolveRef(ref: string, ctx: FormatContext, record: JsonObject, mapMedia: (abs: string) => string, result?: Pick<ConvertResult, 'missingMedia'>): string {
  const loc = mediaLocation(ref, ctx, record);
  if (loc.kind !== 'file') return ref;
  const found = loc.candidates.find((c) => fs.existsSync(c));
  if (!found) {
    result?.missingMedia.push(ref);
    return ref;
  }
  return mapMedia(found);
}

const ROLE: Record<Turn['role'], string | undefined> = {
  system: 'system',
  user: 'user',
  assistant: 'assistant',
  tool: 'tool',
  tool_call: 'function_call',
  unknown: undefined,
};

/** The recipe layout of one normalised sample. Pure: `mapRef` decides where media point. */
export function convertSample(sample: Sample, mapRef: (ref: string) => string): ConvertedRecord | undefined {
  const messages: { role: string; content: string }[] = [];
  const lists: Record<'images' | 'videos' | 'audios', string[]> = { images: [], videos: [], audios: [] };
  const inTurns = new Set(sample.turns.flatMap((t) => t.mediaParts.map((m) => m.ref)));
  // MiniCPM-V numbers its placeholders (<image_00>); the trainers here take plain <image> in order.
  const keyed = sample.media.filter((m) => m.key);
  for (const turn of sample.turns) {
    const role = ROLE[turn.role];
    if (!role) continue;
    let content = turn.texts.map((t) => t.text).join('\n');
    if (turn.mediaParts.length > 0 && !sample.usesPlaceholders) {
      content = turn.mediaParts.map((m) => PLACEHOLDER[m.kind]).join('') + content;
      for (const m of turn.mediaParts) lists[LIST_KEY[m.kind]].push(mapRef(m.ref));
    }
    if (keyed.length) {
      content = content.replace(/<image_\d+>/g, (tok) => {
        const m = keyed.find((k) => k.key === tok);
        if (!m) return tok;
        lists.images.push(mapRef(m.ref));
        return '<image>';
      });
    }
    messages.push({ role, content });
  }
  const side = sample.media.filter((m) => !inTurns.has(m.ref) && !m.key);
  if (side.length) {
    if (!sample.usesPlaceholders) {
      const firstUser = messages.find((m) => m.role === 'user');
      if (firstUser) firstUser.content = side.map((m) => PLACEHOLDER[m.kind]).join('') + firstUser.content;
    }
    for (const m of side) lists[LIST_KEY[m.kind]].push(mapRef(m.ref));
  }
  if (!messages.some((m) => m.role === 'user') || !messages.some((m) => m.role === 'assistant')) return undefined;
  const out: ConvertedRecord = { messages };
  for (const key of ['images', 'videos', 'audios'] as const) if (lists[key].length) out[key] = lists[key];
  return out;
}

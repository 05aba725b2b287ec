import { imageSize } from 'image-size';
import type { MediaInfo } from '../core/media';
import { parseDataUri } from '../core/media';

/**
 * What a media file really is, from its first bytes: images through `image-size` (type and pixel
 * size from the header, no decode), video and audio by their container's magic numbers.
 */

const ascii = (b: Uint8Array, start: number, end: number): string => String.fromCharCode(...b.subarray(start, end));

type Sniffed = Pick<MediaInfo, 'type' | 'kind' | 'mime'>;

const HEIF_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1', 'avif', 'avis']);
const AUDIO_MP4_BRANDS = new Set(['M4A ', 'M4B ', 'M4P ', 'F4A ', 'F4B ']);

/** Video and audio containers by magic number; undefined for anything else (images included). */
export function sniffAudioVideo(b: Uint8Array): Sniffed | undefined {
  if (b.length < 4) return undefined;
  const box = b.length >= 12 ? ascii(b, 4, 8) : '';
  if (box === 'ftyp') {
    const brand = ascii(b, 8, 12);
    if (HEIF_BRANDS.has(brand)) return undefined;
    if (AUDIO_MP4_BRANDS.has(brand)) return { type: 'm4a', kind: 'audio', mime: 'audio/mp4' };
    if (brand === 'qt  ') return { type: 'mov', kind: 'video', mime: 'video/quicktime' };
    if (brand.startsWith('3g')) return { type: '3gp', kind: 'video', mime: 'video/3gpp' };
    return { type: 'mp4', kind: 'video', mime: 'video/mp4' };
  }
  if (box === 'moov' || box === 'mdat' || box === 'wide' || box === 'free' || box === 'skip') return { type: 'mov', kind: 'video', mime: 'video/quicktime' };
  const head4 = ascii(b, 0, 4);
  if (head4 === 'RIFF' && b.length >= 12) {
    const form = ascii(b, 8, 12);
    if (form === 'AVI ') return { type: 'avi', kind: 'video', mime: 'video/x-msvideo' };
    if (form === 'WAVE') return { type: 'wav', kind: 'audio', mime: 'audio/wav' };
    return undefined;
  }
  if (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) {
    const docType = ascii(b, 0, Math.min(b.length, 64));
    return docType.includes('webm') ? { type: 'webm', kind: 'video', mime: 'video/webm' } : { type: 'mkv', kind: 'video', mime: 'video/x-matroska' };
  }
  if (head4 === 'fLaC') return { type: 'flac', kind: 'audio', mime: 'audio/flac' };
  if (head4 === 'OggS') {
    const page = ascii(b, 0, Math.min(b.length, 128));
    if (page.includes('theora')) return { type: 'ogv', kind: 'video', mime: 'video/ogg' };
    return { type: 'ogg', kind: 'audio', mime: 'audio/ogg' };
  }
  if (ascii(b, 0, 3) === 'ID3') return { type: 'mp3', kind: 'audio', mime: 'audio/mpeg' };
  if (ascii(b, 0, 3) === 'FLV') return { type: 'flv', kind: 'video', mime: 'video/x-flv' };
  if (b[0] === 0x00 && b[1] === 0x00 && b[2] === 0x01 && b[3] === 0xba) return { type: 'mpeg', kind: 'video', mime: 'video/mpeg' };
  if (b[0] === 0x47 && b.length > 188 && b[188] === 0x47) return { type: 'ts', kind: 'video', mime: 'video/mp2t' };
  if (b[0] === 0xff && b[1] !== undefined && (b[1] & 0xe0) === 0xe0) {
    // MPEG audio frame sync: layer bits 00 mean ADTS AAC, anything else MP1/2/3.
    if ((b[1] & 0x06) === 0) return { type: 'aac', kind: 'audio', mime: 'audio/aac' };
    return { type: 'mp3', kind: 'audio', mime: 'audio/mpeg' };
  }
  return undefined;
}

const IMAGE_MIME: Record<string, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  bmp: 'image/bmp',
  tiff: 'image/tiff',
  svg: 'image/svg+xml',
  heif: 'image/heif',
  avif: 'image/avif',
  ico: 'image/x-icon',
  jxl: 'image/jxl',
};

/**
 * Sniffs a header. `complete` says the bytes are the whole file, so a cut-off image header means
 * a broken file rather than a short read. Returns `needMore` when a longer read may still succeed.
 */
export function sniffMedia(b: Uint8Array, complete: boolean): MediaInfo & { needMore?: boolean } {
  if (b.length === 0) return { status: 'unreadable', problem: 'is empty (0 bytes)' };
  const av = sniffAudioVideo(b);
  if (av) return { status: 'ok', ...av };
  try {
    const size = imageSize(b);
    const type = size.type === 'jpg' ? 'jpeg' : (size.type ?? 'image');
    if (!(size.width > 0 && size.height > 0)) return { status: 'unreadable', type, kind: 'image', problem: `has a ${type.toUpperCase()} header with no valid pixel size` };
    // EXIF orientations 5-8 rotate by 90°: report the size as displayed.
    const swap = size.orientation !== undefined && size.orientation >= 5;
    return {
      status: 'ok',
      type,
      kind: 'image',
      mime: IMAGE_MIME[type] ?? `image/${type}`,
      width: swap ? size.height : size.width,
      height: swap ? size.width : size.height,
    };
  } catch (err) {
    const known = knownImageSignature(b);
    if (known && !complete) return { status: 'unreadable', type: known, kind: 'image', needMore: true };
    if (known) return { status: 'unreadable', type: known, kind: 'image', problem: `has a ${known.toUpperCase()} signature but a broken or cut-off header (${(err as Error).message})` };
    return { status: 'unreadable', problem: `is not an image, video or audio file of a known type (its first bytes are ${hexHead(b)})` };
  }
}

function knownImageSignature(b: Uint8Array): string | undefined {
  if (b[0] === 0xff && b[1] === 0xd8) return 'jpeg';
  if (b[0] === 0x89 && ascii(b, 1, 4) === 'PNG') return 'png';
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return 'webp';
  if (ascii(b, 0, 4) === 'GIF8') return 'gif';
  return undefined;
}

function hexHead(b: Uint8Array): string {
  return Array.from(b.subarray(0, 8), (x) => x.toString(16).padStart(2, '0')).join(' ');
}

/** How many base64 characters of a `data:` URI are decoded to sniff its header. */
const DATA_HEAD_CHARS = 65536;
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Checks a `data:` URI by decoding its header only; the size is computed from the length. */
export function sniffDataUri(uri: string): MediaInfo {
  const parsed = parseDataUri(uri);
  if (!parsed) return { status: 'unreadable', problem: 'is not a valid data: URI (expected data:<type>;base64,<data>)' };
  if (!parsed.base64) return { status: 'unreadable', mime: parsed.mime, problem: 'is not base64-encoded (expected data:<type>;base64,<data>)' };
  const payload = uri.slice(parsed.payloadStart);
  if (payload.length === 0) return { status: 'unreadable', mime: parsed.mime, size: 0, problem: 'is empty (no data after the comma)' };
  if (!BASE64_RE.test(payload)) {
    const bad = payload.search(/[^A-Za-z0-9+/=]/);
    return { status: 'unreadable', mime: parsed.mime, problem: `is not valid base64 (${bad >= 0 ? `character ${JSON.stringify(payload[bad])} at position ${bad + 1} of the data` : 'misplaced "=" padding'})` };
  }
  if (payload.length % 4 !== 0) return { status: 'unreadable', mime: parsed.mime, problem: 'is not valid base64 (its length is not a multiple of 4: truncated or missing "=" padding)' };
  const padding = payload.endsWith('==') ? 2 : payload.endsWith('=') ? 1 : 0;
  const size = (payload.length / 4) * 3 - padding;
  const head = Buffer.from(payload.slice(0, DATA_HEAD_CHARS - (DATA_HEAD_CHARS % 4)), 'base64');
  const info = sniffMedia(new Uint8Array(head.buffer, head.byteOffset, head.length), payload.length <= DATA_HEAD_CHARS);
  delete info.needMore;
  if (info.status === 'unreadable' && info.problem === undefined) info.problem = `has a ${String(info.type).toUpperCase()} signature but no readable size in its first ${DATA_HEAD_CHARS / 1024} K characters`;
  return { ...info, size };
}

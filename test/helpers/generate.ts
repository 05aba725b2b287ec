import * as fs from 'node:fs';
import * as path from 'node:path';
import { seededRandom } from '../../server/src/core/split';
import { pngBytes } from './images';

/**
 * Synthetic datasets for `npm run bench`: deterministic (seeded), varied text so no two records
 * are alike, about 1 KB per record, with a small share of real problems (a wrong role order, an
 * empty answer, a broken JSON line) so the validator has findings to locate, as in real data.
 * Text is ASCII plus Latin-1 letters: a single character outside Latin-1 would make V8 store the
 * whole document as a two-byte string, which the memory figure reports separately.
 */

const WORDS = (
  'the a of and to in is on with for that this image shows man woman dog cat bus car street red white blue green ' +
  'table person people standing sitting holding wearing large small two three near behind front left right top ' +
  'bottom background picture photo color colors visible there are what where how many why describe scene object ' +
  'objects water tree trees building sky cloudy sunny road sign window door plate food pizza sandwich bowl cup ' +
  'train station platform field grass horse bicycle motorcycle umbrella kite beach ocean wave surfboard skateboard ' +
  'café naïve résumé answer question because therefore likely appears seems could would should also very'
).split(' ');

/** A seeded PRNG (the split command's mulberry32), so every run generates the same bytes. */
export const rng = seededRandom;

function sentence(r: () => number, words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(WORDS[Math.floor(r() * WORDS.length)]!);
  const s = out.join(' ');
  return s.charAt(0).toUpperCase() + s.slice(1) + '.';
}

function paragraph(r: () => number, chars: number): string {
  const parts: string[] = [];
  let n = 0;
  while (n < chars) {
    const s = sentence(r, 6 + Math.floor(r() * 10));
    parts.push(s);
    n += s.length + 1;
  }
  return parts.join(' ');
}

/** A LLaVA-Instruct-style record (ShareGPT `conversations`, `<image>` placeholder, one image). */
export function llavaRecord(i: number, r: () => number): Record<string, unknown> {
  const turns = 1 + Math.floor(r() * 3);
  const conversations: { from: string; value: string }[] = [];
  for (let t = 0; t < turns; t++) {
    const q = sentence(r, 5 + Math.floor(r() * 8)).replace(/\.$/, '?');
    conversations.push({ from: 'human', value: t === 0 ? `<image>\n${q}` : q });
    conversations.push({ from: 'gpt', value: paragraph(r, Math.floor(700 / turns)) });
  }
  const id = String(100000000 + i).padStart(12, '0');
  const rec: Record<string, unknown> = { id, image: `coco/train2017/${id}.jpg`, conversations };
  // About 1 in 200 records carries a problem a trainer cares about.
  const flaw = i % 200;
  if (flaw === 17) conversations.reverse(); // starts with the assistant
  else if (flaw === 71) conversations[conversations.length - 1]!.value = '';
  return rec;
}

/** An OpenAI chat record with image parts (vision fine-tuning). */
export function openaiRecord(i: number, r: () => number): Record<string, unknown> {
  const messages: unknown[] = [{ role: 'system', content: 'You are a helpful assistant that describes images precisely.' }];
  const turns = 1 + Math.floor(r() * 2);
  for (let t = 0; t < turns; t++) {
    messages.push({
      role: 'user',
      content: [
        { type: 'text', text: sentence(r, 6 + Math.floor(r() * 8)).replace(/\.$/, '?') },
        { type: 'image_url', image_url: { url: `https://images.example.com/set/${i}_${t}.jpg`, detail: 'low' } },
      ],
    });
    messages.push({ role: 'assistant', content: paragraph(r, Math.floor(620 / turns)) });
  }
  if (i % 200 === 33) messages.push({ role: 'user', content: 'And then?' }); // ends on a user turn
  return { messages };
}

/**
 * `editor-jsonl`: LLaVA records whose images exist (`images/<n>.png`, one of `EDITOR_IMAGES`), for
 * the editor figures: media probing and hovers on real files.
 */
export type DatasetKind = 'llava-jsonl' | 'llava-array' | 'openai-jsonl' | 'editor-jsonl';

export const EDITOR_IMAGES = 1000;

/** A real PNG (RGB, solid colour) of the given size (the media tests' encoder). */
export const png = pngBytes;

/** Writes the editor dataset's images into `dir/images` (once). */
export function writeImages(dir: string): void {
  const images = path.join(dir, 'images');
  if (fs.existsSync(path.join(images, `${EDITOR_IMAGES - 1}.png`))) return;
  fs.mkdirSync(images, { recursive: true });
  for (let n = 0; n < EDITOR_IMAGES; n++) fs.writeFileSync(path.join(images, `${n}.png`), png(32 + (n % 7) * 8, 24 + (n % 5) * 8, [n % 256, (n * 7) % 256, (n * 13) % 256]));
}

export interface Generated {
  file: string;
  records: number;
  bytes: number;
}

/**
 * Writes `records` records of `kind` to `dir` unless an identical file is already there (the name
 * carries kind and count; the generator is deterministic). JSON arrays are written one element per
 * line, as `json.dump(..., indent=None)` followed by newlines would; the scanner does not care.
 */
export function generate(dir: string, kind: DatasetKind, records: number): Generated {
  fs.mkdirSync(dir, { recursive: true });
  const ext = kind === 'llava-array' ? 'json' : 'jsonl';
  const file = path.join(dir, `${kind}-${records}.${ext}`);
  const done = `${file}.done`;
  if (fs.existsSync(done) && fs.existsSync(file)) return { file, records, bytes: fs.statSync(file).size };
  const r = rng(records * 31 + kind.length);
  const fd = fs.openSync(file, 'w');
  try {
    let buf: string[] = [];
    let size = 0;
    const flush = (): void => {
      fs.writeSync(fd, buf.join(''));
      buf = [];
      size = 0;
    };
    if (kind === 'llava-array') buf.push('[\n');
    if (kind === 'editor-jsonl') writeImages(dir);
    for (let i = 0; i < records; i++) {
      const rec = kind === 'openai-jsonl' ? openaiRecord(i, r) : llavaRecord(i, r);
      if (kind === 'editor-jsonl') rec['image'] = `images/${i % EDITOR_IMAGES}.png`;
      let line = JSON.stringify(rec);
      // One broken line per 10,000 records: a truncated write, as crashed generators leave.
      if ((kind === 'llava-jsonl' || kind === 'openai-jsonl') && i % 10000 === 4321) line = line.slice(0, Math.floor(line.length / 2));
      if (kind === 'llava-array') line = (i === 0 ? '  ' : ',\n  ') + line;
      else line += '\n';
      buf.push(line);
      size += line.length;
      if (size > 1 << 22) flush();
    }
    if (kind === 'llava-array') buf.push('\n]\n');
    flush();
  } finally {
    fs.closeSync(fd);
  }
  fs.writeFileSync(done, '');
  return { file, records, bytes: fs.statSync(file).size };
}

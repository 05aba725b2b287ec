import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Shared pieces of the fuzz suites (core and server): a seeded PRNG, a seed corpus of real records,
 * mutators that produce hostile text, and the named pathological inputs the issue lists.
 * Everything is deterministic for a given seed so a failure can be replayed with FUZZ_SEED.
 */

/** mulberry32: tiny, fast, good enough to spread mutations; deterministic per seed. */
export class Prng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20240611);
/** How many mutated documents each suite runs; CI keeps the default (a few seconds). */
export const FUZZ_ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 500);

/** Records in the formats the validator knows, plus broken ones, so mutations start from realistic text. */
const BUILTIN_SEEDS = [
  '{"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello."}]}',
  '{"messages":[{"role":"user","content":"<image>What is this?"},{"role":"assistant","content":"A cat."}],"images":["images/cat.png"]}',
  '{"conversations":[{"from":"human","value":"<image>\\nDescribe."},{"from":"gpt","value":"A dog on grass."}],"image":"dog.jpg","id":"x1"}',
  '{"instruction":"Translate","input":"bonjour","output":"hello"}',
  '{"question":"2+2?","answer":"4"}',
  '{"text":"plain pretraining text \\u00e9\\ud83d\\ude00"}',
  '{"prompt":"Say hi","completion":" hi"}',
  '{"prompt":"Pick","chosen":"a","rejected":"b"}',
  '{"text":"great movie","label":"positive"}',
  '{"messages":[{"role":"user","content":[{"type":"text","text":"What?"},{"type":"image_url","image_url":{"url":"https://example.invalid/a.png"}}]},{"role":"assistant","content":"x"}]}',
  '{"messages": [{"role": "user", "content": "unfinished"',
  '[1, 2, 3]',
  '"just a string"',
  '{"a":1,"a":2}',
  '{"messages":[{"role":"assistant","content":"first"},{"role":"assistant","content":"twice"}]}',
];

/** Seed records: the built-ins, plus lines of the repository fixtures and samples when present. */
export function seedRecords(root: string, limit = 400): string[] {
  const out = [...BUILTIN_SEEDS];
  for (const dir of ['test/fixtures', 'samples']) {
    for (const file of walk(path.join(root, dir))) {
      if (!/\.(jsonl|json)$/.test(file) || fs.statSync(file).size > 2_000_000) continue;
      const text = fs.readFileSync(file, 'utf8');
      for (const line of text.split('\n')) if (line.trim() && line.length < 20_000) out.push(line);
      if (out.length >= limit) return out.slice(0, limit);
    }
  }
  return out;
}

function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

/** Invalid UTF-8 byte sequences (stray continuation, overlong, surrogate code point, truncated 4-byte). */
const BAD_UTF8 = [Buffer.from([0x80]), Buffer.from([0xc0, 0xaf]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xf0, 0x9f, 0x98]), Buffer.from([0xff, 0xfe])];
const HOSTILE_SNIPPETS = ['\ufeff', '\r\n', '\r', '\0', '\ud800', '\udc00', '\\ud800', '\\u0000', '"', '\\', '{', '}', '[', ']', ',', ':', '\u2028', '\t', '\n', '<image>', '\ud83d\ude00', '\u200b'];

/** One random mutation of `text` (string level). */
export function mutate(rng: Prng, text: string, seeds: readonly string[]): string {
  const at = rng.int(text.length + 1);
  switch (rng.int(9)) {
    case 0: // truncate
      return text.slice(0, at);
    case 1: // delete a span
      return text.slice(0, at) + text.slice(Math.min(text.length, at + 1 + rng.int(20)));
    case 2: // insert a hostile snippet
      return text.slice(0, at) + rng.pick(HOSTILE_SNIPPETS) + text.slice(at);
    case 3: // replace one character by a random code unit (lone surrogates included)
      return text.slice(0, at) + String.fromCharCode(rng.int(0x10000)) + text.slice(at + 1);
    case 4: // splice another record in
      return text.slice(0, at) + rng.pick(seeds) + text.slice(at);
    case 5: // duplicate a span
      return text.slice(0, at) + text.slice(at, at + rng.int(64)) + text.slice(at);
    case 6: // invalid UTF-8 bytes, decoded the way the server decodes a file
      return text.slice(0, at) + Buffer.concat([rng.pick(BAD_UTF8)]).toString('utf8') + text.slice(at);
    case 7: // random bytes
      return text.slice(0, at) + rng.bytes(1 + rng.int(32)).toString('utf8') + text.slice(at);
    default: // swap line endings
      return rng.int(2) ? text.replace(/\n/g, '\r\n') : text.replace(/\r?\n/g, '\n');
  }
}

/** A random document: several seed records, each mutated a few times, joined by newlines (or as an array). */
export function randomDocument(rng: Prng, seeds: readonly string[], asArray: boolean): string {
  const n = 1 + rng.int(6);
  const records: string[] = [];
  for (let i = 0; i < n; i++) {
    let r = rng.pick(seeds);
    const m = rng.int(4);
    for (let j = 0; j < m; j++) r = mutate(rng, r, seeds);
    records.push(r);
  }
  let doc = asArray ? `[\n${records.join(',\n')}\n]` : records.join(rng.int(3) === 0 ? '\r\n' : '\n');
  if (rng.int(4) === 0) doc = mutate(rng, doc, seeds);
  if (rng.int(10) === 0) doc = '\ufeff' + doc;
  return doc;
}

/** A document of random bytes decoded as UTF-8 (replacement characters and all). */
export function randomBytesDocument(rng: Prng): string {
  return rng.bytes(rng.int(2048)).toString('utf8');
}

/** The pathological inputs named by the issue, built lazily (some are large). */
export const PATHOLOGICAL: { name: string; kind: 'jsonl' | 'json'; text: () => string }[] = [
  { name: '100,000-deep nested arrays', kind: 'jsonl', text: () => '['.repeat(100_000) + ']'.repeat(100_000) },
  { name: '100,000-deep nested objects', kind: 'jsonl', text: () => '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000) },
  { name: '100,000-deep nested objects with spaces', kind: 'jsonl', text: () => '{"a": '.repeat(100_000) + '1' + '}'.repeat(100_000) },
  { name: '100,000-deep unclosed nesting', kind: 'jsonl', text: () => '{"messages":' + '['.repeat(100_000) },
  { name: '100,000-deep nesting under a messages record', kind: 'jsonl', text: () => `{"messages":[{"role":"user","content":${'['.repeat(100_000)}${']'.repeat(100_000)}}]}` },
  { name: '100,000-deep nesting in a JSON array file', kind: 'json', text: () => '[' + '['.repeat(100_000) + ']'.repeat(100_000) + ']' },
  {
    name: '10 MB single line (valid record)',
    kind: 'jsonl',
    text: () => JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(10_000_000) }, { role: 'assistant', content: 'ok' }] }),
  },
  { name: '10 MB single line (unterminated string)', kind: 'jsonl', text: () => '{"text":"' + 'y'.repeat(10_000_000) },
  { name: '10 MB single line of garbage', kind: 'jsonl', text: () => 'z'.repeat(10_000_000) },
  {
    name: '100,000 keys in one object',
    kind: 'jsonl',
    text: () => '{' + Array.from({ length: 100_000 }, (_, i) => `"k${i}":${i}`).join(',') + '}',
  },
  {
    name: '100,000 keys in a messages record',
    kind: 'jsonl',
    text: () => '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"}],' + Array.from({ length: 100_000 }, (_, i) => `"k${i}": ${i}`).join(', ') + '}',
  },
  { name: '100,000 keys in a JSON array file', kind: 'json', text: () => '[{' + Array.from({ length: 100_000 }, (_, i) => `"k${i}":"v"`).join(',') + '}]' },
  {
    name: '100,000 keys, one per line, in a pretty-printed JSON array file',
    kind: 'json',
    text: () => '[\n  {\n    "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}],\n' + Array.from({ length: 100_000 }, (_, i) => `    "k${i}": ${i}`).join(',\n') + '\n  }\n]\n',
  },
  { name: 'NUL bytes everywhere', kind: 'jsonl', text: () => '{"text":"a\0b"}\n\0\0\0\n{"te\0xt":1}\n' },
  { name: 'lone surrogates', kind: 'jsonl', text: () => '{"text":"\ud800"}\n{"text":"\\ud800"}\n{"\udc00":"x"}\n\ud83d\n' },
  { name: 'BOM and CRLF', kind: 'jsonl', text: () => '\ufeff{"text":"a"}\r\n{"text":"b"\r\n\r\n{"text":"c"}\r\n' },
  { name: 'BOM in a JSON array file', kind: 'json', text: () => '\ufeff[\r\n{"text":"a"},\r\n{"text":\r\n]' },
  { name: 'invalid UTF-8 decoded', kind: 'jsonl', text: () => Buffer.concat([Buffer.from('{"text":"'), ...BAD_UTF8, Buffer.from('"}\n')]).toString('utf8') },
  { name: '100,000 empty lines', kind: 'jsonl', text: () => '\n'.repeat(100_000) + '{"text":"end"}' },
  { name: '100,000 tiny records', kind: 'jsonl', text: () => '{"text":"a"}\n'.repeat(100_000) },
  { name: 'many brackets on many lines', kind: 'json', text: () => '[' + '{"text":[\n'.repeat(50_000) },
];

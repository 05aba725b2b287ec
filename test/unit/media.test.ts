import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { CODES } from '../../server/src/core/codes';
import { detectFormat } from '../../server/src/core/formats';
import { mediaLocation, resolveMedia, type MediaInfo } from '../../server/src/core/media';
import { parseSettings, type Settings } from '../../server/src/core/settings';
import { DatasetValidator } from '../../server/src/core/validator';
import { NodeMediaProbe } from '../../server/src/node/mediaProbe';
import { sniffDataUri, sniffMedia } from '../../server/src/node/mediaSniff';
import { validateFile } from '../../server/src/node/validateFile';
import { defaultServices } from '../../server/src/node/services';
import { CORPUS, FIXTURES } from '../helpers/fixtures';
import { mediaFixture, pngBytes, writePng } from '../helpers/images';

function settings(raw: Record<string, unknown> = {}): Settings {
  const { settings: s, problems } = parseSettings(raw);
  assert.deepEqual(problems, []);
  return s;
}

function tmpDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunekit-media-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const record = (images: string[], text = '<image>'.repeat(images.length) + 'What is it?'): string =>
  JSON.stringify({ messages: [{ role: 'user', content: text }, { role: 'assistant', content: 'Red.' }], images });

test('sniffMedia reads type and pixel size from real PNG, JPEG, WEBP and GIF headers', () => {
  assert.deepEqual(pick(sniffMedia(pngBytes(7, 5), true)), { status: 'ok', type: 'png', kind: 'image', mime: 'image/png', width: 7, height: 5 });
  assert.deepEqual(pick(sniffMedia(mediaFixture('blue-40x30.jpg'), true)), { status: 'ok', type: 'jpeg', kind: 'image', mime: 'image/jpeg', width: 40, height: 30 });
  assert.deepEqual(pick(sniffMedia(mediaFixture('green-20x20.webp'), true)), { status: 'ok', type: 'webp', kind: 'image', mime: 'image/webp', width: 20, height: 20 });
  assert.deepEqual(pick(sniffMedia(mediaFixture('yellow-16x12.gif'), true)), { status: 'ok', type: 'gif', kind: 'image', mime: 'image/gif', width: 16, height: 12 });
});

test('sniffMedia recognises video and audio containers by magic number, and rejects the rest', () => {
  assert.equal(sniffMedia(mediaFixture('clip.mp4'), true).type, 'mp4');
  assert.equal(sniffMedia(mediaFixture('beep.wav'), true).kind, 'audio');
  const riff = (form: string): Buffer => Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from(form), Buffer.alloc(8)]);
  assert.equal(sniffMedia(riff('AVI '), true).type, 'avi');
  assert.equal(sniffMedia(Buffer.from('fLaC\0\0\0\x22'), true).type, 'flac');
  assert.equal(sniffMedia(Buffer.from('OggS\0\x02\0\0\0\0\0\0'), true).kind, 'audio');
  assert.equal(sniffMedia(Buffer.from('ID3\x04\0\0\0\0\0\0'), true).type, 'mp3');
  assert.equal(sniffMedia(Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x42, 0x82, 0x84, 0x77, 0x65, 0x62, 0x6d]), true).type, 'webm');
  const m4a = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypM4A '), Buffer.alloc(12)]);
  assert.deepEqual([sniffMedia(m4a, true).type, sniffMedia(m4a, true).kind], ['m4a', 'audio']);
  assert.equal(sniffMedia(Buffer.alloc(0), true).problem, 'is empty (0 bytes)');
  assert.equal(sniffMedia(Buffer.from('hello, not an image'), true).status, 'unreadable');
  // A cut-off PNG: when more of the file may follow, ask for it; when the file ends there, it is broken.
  assert.equal(sniffMedia(mediaFixture('truncated.png'), true).status, 'unreadable');
});

test('the real LLaMA-Factory corpus media are recognised (skip without ../shared/corpus)', (t) => {
  const dir = path.join(CORPUS, 'llamafactory', 'data', 'mllm_demo_data');
  if (!fs.existsSync(dir)) {
    if (process.env['CI'] === 'true') assert.fail(`${dir} is missing`);
    t.skip(`${dir} is absent`);
    return;
  }
  const want: Record<string, string> = { '1.jpg': 'jpeg', '1.mp3': 'mp3', '1.mp4': 'mp4', '2.avi': 'avi', '2.wav': 'wav', '3.flac': 'flac', '4.mp3': 'mp3', '4.mp4': 'mp4' };
  for (const [name, type] of Object.entries(want)) {
    const info = sniffMedia(fs.readFileSync(path.join(dir, name)), true);
    assert.equal(info.type, type, name);
    assert.equal(info.status, 'ok', name);
  }
});

test('data: URIs are checked by decoding their header only', () => {
  const png = pngBytes(3, 2).toString('base64');
  const ok = sniffDataUri(`data:image/png;base64,${png}`);
  assert.deepEqual([ok.status, ok.type, ok.width, ok.height, ok.size], ['ok', 'png', 3, 2, pngBytes(3, 2).length]);
  assert.match(sniffDataUri('data:image/png;base64,ab!d').problem!, /not valid base64/);
  assert.match(sniffDataUri('data:image/png;base64,abc').problem!, /multiple of 4/);
  assert.match(sniffDataUri('data:image/png,rawbytes').problem!, /not base64/);
  assert.match(sniffDataUri('data:image/png;base64,').problem!, /empty/);
  // A huge payload is not decoded in full: its size comes from the length.
  const big = `data:image/png;base64,${png.slice(0, 40)}${'A'.repeat(4_000_000)}`;
  assert.equal(sniffDataUri(big).size, ((40 + 4_000_000) / 4) * 3);
});

test('paths resolve: absolute, mediaRoot, the dataset folder, dataset_info.json, parent folders up to the workspace', (t) => {
  const root = tmpDir(t);
  const fileDir = path.join(root, 'data', 'sub');
  const ctx = { settings: settings({ mediaRoot: '/media/root' }), fileDir, rootDir: root, datasetInfo: { name: 'x', dir: path.join(root, 'data') } };
  assert.deepEqual(mediaLocation('/abs/a.png', ctx).candidates, [path.normalize('/abs/a.png')]);
  assert.deepEqual(mediaLocation('img/a.png', ctx).candidates, [
    path.resolve('/media/root/img/a.png'),
    path.join(fileDir, 'img/a.png'),
    path.join(root, 'data', 'img/a.png'),
    path.join(root, 'img/a.png'),
  ]);
  // Never above the workspace folder; without one, at most three levels up.
  assert.deepEqual(mediaLocation('a.png', { ...ctx, settings: settings(), rootDir: fileDir }).candidates, [path.join(fileDir, 'a.png'), path.join(root, 'data', 'a.png')]);
  assert.equal(mediaLocation('a.png', { settings: settings(), fileDir: '/a/b/c/d/e' }).candidates.length, 4);
  assert.deepEqual(mediaLocation('data:image/png;base64,AAAA', ctx), { kind: 'data', candidates: ['data:image/png;base64,AAAA'], display: ['data:image/png;base64,AAAA'] });
  assert.equal(mediaLocation('https://x.org/a.png', ctx).kind, 'remote');
  assert.deepEqual(mediaLocation('file:///abs/b%20c.png', ctx).candidates, [path.normalize('/abs/b c.png')]);
});

test('the probe caches answers, reports batches, and forgets invalidated paths', async (t) => {
  const dir = tmpDir(t);
  const probe = new NodeMediaProbe();
  let batches = 0;
  probe.onDidChange(() => batches++);
  const file = path.join(dir, 'later.png');
  assert.equal(probe.peek(file), undefined);
  assert.equal((await probe.probe(file)).status, 'missing');
  assert.equal(batches, 1);
  assert.equal(probe.peek(file)?.status, 'missing');
  await probe.probe(file);
  assert.equal(probe.stats.probes, 1, 'a cached answer is not probed again');
  writePng(file, 9, 4);
  assert.equal(probe.peek(file)?.status, 'missing', 'the cache holds until invalidated');
  assert.equal(probe.invalidate([path.join(dir, 'unrelated.png')]), false);
  assert.equal(probe.invalidate([dir]), true, 'a folder invalidates what is below it');
  const info = await probe.probe(file);
  assert.deepEqual([info.status, info.width, info.height, info.size], ['ok', 9, 4, pngBytes(9, 4).length]);
});

test('many probes at once stay within the concurrency limit and settle together', async (t) => {
  const dir = tmpDir(t);
  const probe = new NodeMediaProbe({ concurrency: 4 });
  const files = Array.from({ length: 50 }, (_, i) => writePng(path.join(dir, `${i}.png`), i + 1, 1));
  for (const f of files) void probe.probe(f);
  await probe.settled();
  files.forEach((f, i) => assert.equal(probe.peek(f)?.width, i + 1));
});

test('the in-memory validator marks records volatile until the probe answers, then reports', async (t) => {
  const dir = tmpDir(t);
  writePng(path.join(dir, 'ok.png'), 4, 4);
  const services = defaultServices();
  const validator = new DatasetValidator({ settings: settings(), services, formatContext: { fileDir: dir } });
  const text = [record(['ok.png']), record(['missing.png'])].join('\n');
  const first = validator.validateText(text, 'jsonl');
  assert.deepEqual(first.findings.map((f) => f.code), [], 'nothing is known yet: no guess');
  await services.mediaProbe.settled();
  const second = validator.validateText(text, 'jsonl');
  assert.deepEqual(second.findings.map((f) => `${f.range.start.line}:${f.code}`), ['1:media-not-found']);
  assert.match(second.findings[0]!.message, /missing\.png/);
  assert.ok(second.findings[0]!.message.includes(path.join(dir, 'missing.png')), 'the message names the path it tried');
});

test('validateFile (the CLI path) waits for the probes and gives complete answers', async (t) => {
  const dir = tmpDir(t);
  writePng(path.join(dir, 'img', 'a.png'), 2, 2);
  const file = path.join(dir, 'train.jsonl');
  const lines = Array.from({ length: 200 }, (_, i) => record([i % 2 ? 'img/a.png' : `img/missing-${i}.png`]));
  fs.writeFileSync(file, lines.join('\n') + '\n');
  const result = await validateFile(file, { settings: settings() });
  const notFound = result.findings.filter((f) => f.code === 'media-not-found');
  assert.equal(notFound.length, 100);
  assert.ok(notFound.every((f) => f.range.start.line % 2 === 0));
});

test('relative paths resolve against the folder of a neighbouring dataset_info.json', async (t) => {
  const root = tmpDir(t);
  const data = path.join(root, 'data');
  writePng(path.join(data, 'pics', 'cat.png'), 5, 5);
  fs.mkdirSync(path.join(data, 'sets'), { recursive: true });
  fs.writeFileSync(path.join(data, 'dataset_info.json'), JSON.stringify({ mine: { file_name: 'sets/train.jsonl', formatting: 'sharegpt', columns: { messages: 'messages', images: 'images' }, tags: { role_tag: 'role', content_tag: 'content', user_tag: 'user', assistant_tag: 'assistant' } } }));
  const file = path.join(data, 'sets', 'train.jsonl');
  fs.writeFileSync(file, record(['pics/cat.png']) + '\n');
  // rootDir = the file's folder keeps the parent-folder fallback out of it: only dataset_info.json can resolve it.
  const ok = await validateFile(file, { settings: settings(), rootDir: path.dirname(file) });
  assert.deepEqual(ok.findings, []);
  fs.unlinkSync(path.join(data, 'dataset_info.json'));
  const missing = await validateFile(file, { settings: settings(), rootDir: path.dirname(file) });
  assert.deepEqual(missing.findings.map((f) => f.code), ['media-not-found']);
});

test('mediaRoot wins, absolute paths and file: URIs work', async (t) => {
  const dir = tmpDir(t);
  const elsewhere = path.join(dir, 'elsewhere');
  writePng(path.join(elsewhere, 'x.png'), 3, 3);
  const file = path.join(dir, 'sets', 'a.jsonl');
  fs.mkdirSync(path.dirname(file));
  fs.writeFileSync(file, [record(['x.png']), record([path.join(elsewhere, 'x.png')]), record([`file://${path.join(elsewhere, 'x.png')}`])].join('\n'));
  const without = await validateFile(file, { settings: settings(), rootDir: dir });
  assert.deepEqual(without.findings.map((f) => `${f.range.start.line}:${f.code}`), ['0:media-not-found']);
  const withRoot = await validateFile(file, { settings: settings({ mediaRoot: elsewhere }), rootDir: dir });
  assert.deepEqual(withRoot.findings, []);
});

test('remote media are never fetched unless tunekit.media.fetchRemote allows it', async (t) => {
  const png = pngBytes(6, 3);
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/cat.png') {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(png.length) });
      res.end(png);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = tmpDir(t);
  const file = path.join(dir, 'remote.jsonl');
  fs.writeFileSync(file, [record([`${base}/cat.png`]), record([`${base}/gone.png`])].join('\n'));
  const off = await validateFile(file, { settings: settings() });
  assert.deepEqual(off.findings, []);
  assert.deepEqual(hits, [], 'nothing was fetched');
  const on = await validateFile(file, { settings: settings({ media: { fetchRemote: true } }) });
  assert.deepEqual(on.findings.map((f) => `${f.range.start.line}:${f.code}`), ['1:media-not-found']);
  assert.deepEqual(hits.sort(), ['/cat.png', '/gone.png']);
  const probe = new NodeMediaProbe();
  const info = await probe.probe(`${base}/cat.png`);
  assert.deepEqual([info.status, info.width, info.height, info.size], ['ok', 6, 3, png.length]);
});

test('resolveMedia starts one job per reference: candidates in order, stopping at the first that exists', async (t) => {
  const dir = tmpDir(t);
  writePng(path.join(dir, 'x', 'a.png'), 1, 1);
  const probe = new NodeMediaProbe();
  const ctx = { settings: settings(), fileDir: path.join(dir, 'x', 'y'), rootDir: dir };
  const pending: Promise<unknown>[] = [];
  const first = resolveMedia('a.png', ctx, probe, { fetchRemote: false, onPending: (p) => pending.push(p) });
  assert.equal(first.pending, true);
  assert.equal(pending.length, 1);
  await probe.settled();
  const second = resolveMedia('a.png', ctx, probe, { fetchRemote: false });
  assert.equal(second.target, path.join(dir, 'x', 'a.png'));
  assert.equal(probe.stats.probes, 2, 'the folder above the file (dir/a.png) was never probed');
  assert.equal(probe.peek(path.join(dir, 'a.png')), undefined);
});

function pick(info: MediaInfo): Partial<MediaInfo> {
  const { status, type, kind, mime, width, height } = info;
  return { status, type, kind, mime, width, height };
}

test('every Modalities code is expected by at least one media fixture, and media fixtures cover every media format', () => {
  const fixtures = FIXTURES;
  const expected = fs
    .readdirSync(fixtures)
    .filter((f) => f.startsWith('media-') && f.endsWith('.expected'))
    .flatMap((f) => fs.readFileSync(path.join(fixtures, f), 'utf8').split('\n'))
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(' ')[2]);
  for (const code of Object.entries(CODES).filter(([, info]) => info.family === 'media').map(([c]) => c)) {
    assert.ok(expected.includes(code), `no media fixture expects ${code}`);
  }
  const formats = new Set<string>();
  for (const f of fs.readdirSync(fixtures).filter((x) => x.startsWith('media-') && x.endsWith('.jsonl'))) {
    for (const line of fs.readFileSync(path.join(fixtures, f), 'utf8').split('\n').filter(Boolean)) {
      const best = detectFormat(JSON.parse(line) as Record<string, unknown>, { settings: settings() }).best;
      if (best) formats.add(best.name);
    }
  }
  for (const name of ['openai', 'messages+media', 'llamafactory-v1', 'sharegpt', 'minicpm-v', 'alpaca', 'qa', 'classification', 'preference']) assert.ok(formats.has(name), `no media fixture in the ${name} format`);
});


import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { resolveMedia } from '../../server/src/core/media';
import { galleryPage, samplePreview, type GalleryRecord } from '../../server/src/core/preview';
import { parseSettings } from '../../server/src/core/settings';
import { mediaTargetAt } from '../../server/src/features/hover';
import { mediaHoverMarkdown, recordHoverMarkdown, scaledSize } from '../../server/src/node/hoverMarkdown';
import { NodeMediaProbe } from '../../server/src/node/mediaProbe';
import { pngBytes, writePng } from '../helpers/images';

const settings = parseSettings({}).settings;

function workspace(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunekit-preview-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  writePng(path.join(dir, 'a.png'), 30, 10);
  writePng(path.join(dir, 'b.png'), 10, 10);
  return dir;
}

test('the sample preview puts each image where its placeholder stands and marks missing ones', async (t) => {
  const dir = workspace(t);
  const ctx = { settings, fileDir: dir };
  const probe = new NodeMediaProbe();
  const text = JSON.stringify({
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'First <image> then <image> done' },
      { role: 'assistant', content: 'Ok.' },
    ],
    images: ['a.png', 'gone.png'],
  });
  for (const f of ['a.png', 'gone.png']) await probe.probeFirst(resolveMedia(f, ctx, probe, { fetchRemote: false }).location.candidates);
  const findings = [{ code: 'media-not-found', severity: 'error' as const, message: 'Image "gone.png" not found', data: { ref: 'gone.png' } }];
  const p = samplePreview({ uri: 'file:///x.jsonl', record: 0, line: 0, records: 1 }, text, ctx, probe, findings);
  assert.equal(p.format, 'messages+media');
  assert.deepEqual(
    p.turns.map((turn) => [turn.role, turn.parts.map((x) => (x.type === 'text' ? x.text : `[${x.media.ref}${x.media.file ? ` ${x.media.width}x${x.media.height}` : ''}${x.media.problem ? ` ${x.media.problem.code}` : ''}]`))]),
    [
      ['system', ['Be brief.']],
      ['user', ['First ', '[a.png 30x10]', ' then ', '[gone.png media-not-found]', ' done']],
      ['assistant', ['Ok.']],
    ],
  );
  assert.deepEqual(p.problems.map((x) => x.code), ['media-not-found']);
});

test('the sample preview keeps content-part order, places Qwen-VL <img> inline, and puts placeholder-less images first', async (t) => {
  const dir = workspace(t);
  const ctx = { settings, fileDir: dir };
  const probe = new NodeMediaProbe();
  await probe.probe(path.join(dir, 'a.png'));
  const v1 = JSON.stringify({ messages: [{ role: 'user', content: [{ type: 'text', value: 'Look:' }, { type: 'image_url', value: 'a.png' }, { type: 'text', value: 'ok?' }] }, { role: 'assistant', content: [{ type: 'text', value: 'Yes.' }] }] });
  const parts = samplePreview({ uri: 'u', record: 0, line: 0, records: 1 }, v1, ctx, probe, []).turns[0]!.parts.map((x) => (x.type === 'text' ? x.text : 'IMG'));
  assert.deepEqual(parts, ['Look:', 'IMG', 'ok?']);
  const qwen = JSON.stringify({ conversations: [{ from: 'user', value: 'Picture 1: <img>a.png</img>\nWhat?' }, { from: 'assistant', value: 'Red.' }] });
  const q = samplePreview({ uri: 'u', record: 0, line: 0, records: 1 }, qwen, ctx, probe, []).turns[0]!.parts.map((x) => (x.type === 'text' ? x.text : `IMG ${x.media.file}`));
  assert.deepEqual(q, ['Picture 1: ', `IMG ${path.join(dir, 'a.png')}`, '\nWhat?']);
  const noPlaceholder = JSON.stringify({ image: 'a.png', conversations: [{ from: 'human', value: 'What?' }, { from: 'gpt', value: 'Red.' }] });
  const first = samplePreview({ uri: 'u', record: 0, line: 0, records: 1 }, noPlaceholder, ctx, probe, []).turns[0]!.parts[0]!;
  assert.ok(first.type === 'media' && first.media.placedByLoader);
  const broken = samplePreview({ uri: 'u', record: 0, line: 0, records: 1 }, '{"messages": [', ctx, probe, []);
  assert.match(broken.unreadable ?? '', /not valid JSON/);
});

test('a placeholder with no media to bind to is a broken tile carrying the mismatch', async (t) => {
  const dir = workspace(t);
  const ctx = { settings, fileDir: dir };
  const probe = new NodeMediaProbe();
  await probe.probe(path.join(dir, 'a.png'));
  const text = JSON.stringify({ messages: [{ role: 'user', content: '<image><image>Compare.' }, { role: 'assistant', content: 'Same.' }], images: ['a.png'] });
  const mismatch = { code: 'media-token-mismatch', severity: 'error' as const, message: '2 <image> placeholders but 1 image' };
  const parts = samplePreview({ uri: 'u', record: 0, line: 0, records: 1 }, text, ctx, probe, [mismatch]).turns[0]!.parts;
  assert.deepEqual(
    parts.map((x) => (x.type === 'text' ? x.text : `${x.media.ref}:${x.media.problem?.code ?? 'ok'}`)),
    ['a.png:ok', '<image>:media-token-mismatch', 'Compare.'],
  );
});

test('a gallery page of a 100,000-image file reads only the records on the page', () => {
  const records: GalleryRecord[] = Array.from({ length: 100_000 }, (_, i) => ({ index: i, line: i, images: 1, hasProblem: i % 1000 === 7 }));
  const read: number[] = [];
  const ctx = { settings, fileDir: '/nowhere' };
  const page = galleryPage({
    records,
    offset: 50_000,
    limit: 60,
    filter: 'all',
    ctx,
    read: (r) => {
      read.push(r.index);
      return { text: JSON.stringify({ messages: [{ role: 'user', content: `<image>Question number ${r.index} about a picture` }, { role: 'assistant', content: 'A.' }], images: [`img/${r.index}.png`] }), findings: [] };
    },
  });
  assert.equal(page.total, 100_000);
  assert.equal(page.problemRecords, 100);
  assert.deepEqual(read, Array.from({ length: 60 }, (_, i) => 50_000 + i));
  assert.deepEqual(page.items[0], { record: 50_000, line: 50_000, caption: 'Question number 50000 about a picture', media: { kind: 'image', ref: 'img/50000.png' } });
  const problems = galleryPage({ records, offset: 0, limit: 5, filter: 'problems', ctx, read: () => ({ text: '{}', findings: [{ code: 'media-not-found', severity: 'error', message: 'x', data: { ref: 'nope' } }] }) });
  assert.equal(problems.total, 100);
  assert.deepEqual(problems.items.map((i) => [i.record, i.media.problem?.code]), [[7, 'media-not-found'], [1007, 'media-not-found'], [2007, 'media-not-found'], [3007, 'media-not-found'], [4007, 'media-not-found']]);
});

test('a gallery page spans records with several images and stops at the end', () => {
  const records: GalleryRecord[] = [0, 3, 0, 2].map((n, i) => ({ index: i, line: i * 2, images: n, hasProblem: false }));
  const text = (n: number): string => JSON.stringify({ messages: [{ role: 'user', content: '<image>'.repeat(n) + 'Hi' }, { role: 'assistant', content: 'A.' }], images: Array.from({ length: n }, (_, k) => `${n}-${k}.png`) });
  const page = galleryPage({ records, offset: 2, limit: 10, filter: 'all', ctx: { settings }, read: (r) => ({ text: text(r.images), findings: [] }) });
  assert.equal(page.total, 5);
  assert.deepEqual(page.items.map((i) => `${i.record}:${i.media.ref}`), ['1:3-2.png', '3:2-0.png', '3:2-1.png']);
});

test('hover targets: a path value, a MiniCPM-V map key, a numbered placeholder, a Qwen-VL <img> path, a data: URI', () => {
  const ctx = { settings, fileDir: '/w' };
  const at = (text: string, needle: string, delta = 1): string | undefined => {
    const hit = mediaTargetAt(text, text.indexOf(needle) + delta, ctx);
    return hit && `${hit.media.ref} ${text.slice(hit.start, hit.end)}${hit.heading ? ` | ${hit.heading}` : ''}`;
  };
  const mm = JSON.stringify({ messages: [{ role: 'user', content: 'A <image> and <image>' }, { role: 'assistant', content: 'B.' }], images: ['x.png', 'y.png'] });
  assert.equal(at(mm, '"y.png"'), 'y.png "y.png"');
  assert.equal(at(mm, 'and <image>', 6), 'y.png <image> | `<image>` 2 of 2 → images[1] (2 images listed)');
  assert.equal(at(mm, '"B."'), undefined);
  const cpm = JSON.stringify({ image: { '<image_00>': 'p.png', '<image_01>': 'q.png' }, conversations: [{ role: 'user', content: '<image_01> vs <image_00>' }, { role: 'assistant', content: 'Same.' }] });
  assert.equal(at(cpm, '"<image_01>":'), 'q.png "<image_01>"');
  assert.equal(at(cpm, 'vs <image_00>', 4), 'p.png <image_00> | `<image_00>` → image.<image_00>');
  const qwen = JSON.stringify({ conversations: [{ from: 'user', value: 'Picture 1: <img>dir/c.png</img> ok' }, { from: 'assistant', value: 'C.' }] });
  assert.equal(at(qwen, 'dir/c.png'), 'dir/c.png dir/c.png');
  const uri = `data:image/png;base64,${pngBytes(2, 2).toString('base64')}`;
  const openai = JSON.stringify({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: uri } }] }, { role: 'assistant', content: 'D.' }] });
  assert.equal(at(openai, 'data:')?.startsWith('data:image/png;base64,'), true);
});

test('hover markdown: local images by file URI scaled to the hover size, remote URLs as links only', async (t) => {
  const dir = workspace(t);
  const probe = new NodeMediaProbe();
  const ctx = { settings, fileDir: dir };
  await probe.probe(path.join(dir, 'a.png'));
  const md = mediaHoverMarkdown({ kind: 'image', ref: 'a.png', resolved: resolveMedia('a.png', ctx, probe, { fetchRemote: false }), hoverSize: 300, fetchRemote: false });
  assert.ok(md.includes(`](${pathToFileURL(path.join(dir, 'a.png')).href}|width=300,height=100)`), md);
  assert.match(md, /PNG · 30 × 10 px · \d+ B/);
  const remote = mediaHoverMarkdown({ kind: 'image', ref: 'https://example.com/a.png', resolved: resolveMedia('https://example.com/a.png', ctx, probe, { fetchRemote: false }), hoverSize: 256, fetchRemote: false });
  assert.doesNotMatch(remote, /!\[/, 'a remote image is never embedded (the editor would fetch it)');
  assert.match(remote, /\(https:\/\/example\.com\/a\.png\)/);
  assert.match(remote, /fetchRemote/);
  assert.deepEqual(scaledSize(1000, 500, 256), { width: 256, height: 128 });
  assert.match(recordHoverMarkdown({ record: 4, line: 9, format: 'sharegpt', turns: 2, media: { image: 2, video: 0, audio: 1 }, approxTokens: 1234 }), /\*\*Record 5\*\* \(line 10\) · sharegpt\n\n2 turns · 2 images, 1 audio · ≈ 1,234 tokens/);
});

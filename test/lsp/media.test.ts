import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { FileChangeType, type CodeLens, type Diagnostic, type Hover, type MarkupContent } from 'vscode-languageserver-protocol';
import type { GalleryPage, SamplePreview } from '../../server/src/protocol/preview';
import { writePng } from '../helpers/images';
import { fileUri, LspClient } from '../helpers/lspClient';

// The built server over stdio with a real workspace folder on disk: images are real PNG files,
// created and removed by the test.

const record = (images: string[], text: string): string =>
  JSON.stringify({ messages: [{ role: 'user', content: text }, { role: 'assistant', content: 'Red.' }], images });

describe('language server: media', () => {
  let client: LspClient;
  let root: string;
  let data: string;
  let uri: string;
  let text: string;

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tunekit-lsp-media-'));
    data = path.join(root, 'data');
    writePng(path.join(data, 'img', 'red.png'), 40, 20);
    text = [record(['img/red.png'], '<image>What colour?'), record(['img/later.png'], '<image>And this?')].join('\n');
    const file = path.join(data, 'train.jsonl');
    fs.writeFileSync(file, text);
    uri = fileUri(file);
    client = await LspClient.start({ rootPath: root });
    await client.open(uri, text);
  });

  after(async () => {
    await client.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** Pulls until `check` holds, waiting for the server's refresh requests in between (deadline, no sleeps). */
  async function pullUntil(check: (ds: Diagnostic[]) => boolean, what: string): Promise<Diagnostic[]> {
    for (let i = 0; i < 20; i++) {
      const seen = client.refreshCount;
      const ds = await client.diagnostics(uri);
      if (check(ds)) return ds;
      await client.until(() => client.refreshCount > seen, `a refresh while waiting for ${what}`);
    }
    assert.fail(`never got ${what}`);
  }

  const hoverAt = (needle: string, line: number, delta = 1): Promise<Hover | null> =>
    client.request<Hover | null>('textDocument/hover', { textDocument: { uri }, position: { line, character: text.split('\n')[line]!.indexOf(needle) + delta } });

  test('a missing image is reported once the probe answers, naming the path it tried', async () => {
    const ds = await pullUntil((d) => d.some((x) => x.code === 'media-not-found'), 'media-not-found');
    assert.deepEqual(
      ds.map((d) => `${d.range.start.line}:${String(d.code)}`),
      ['1:media-not-found'],
    );
    const raw = ds[0]!.message;
    const message = typeof raw === 'string' ? raw : raw.value;
    assert.ok(message.includes(path.join(data, 'img', 'later.png')), message);
  });

  test('hover on an image path shows the image by file URI with its pixel size, file size and type', async () => {
    const hover = await hoverAt('img/red.png', 0);
    const md = (hover?.contents as MarkupContent).value;
    const href = pathToFileURL(path.join(data, 'img', 'red.png')).href;
    assert.ok(md.includes(`](${href}|width=256,height=128)`), md);
    assert.match(md, /PNG · 40 × 20 px · \d+ B/);
    const line0 = text.split('\n')[0]!;
    assert.deepEqual(hover?.range?.start, { line: 0, character: line0.indexOf('"img/red.png"') });
  });

  test('hover on an <image> placeholder shows the image it binds to', async () => {
    const md = ((await hoverAt('<image>', 0, 2))?.contents as MarkupContent).value;
    assert.ok(md.includes('`<image>` 1 of 1 → images[0]'), md);
    assert.ok(md.includes(pathToFileURL(path.join(data, 'img', 'red.png')).href), md);
    assert.match(md, /40 × 20 px/);
  });

  test('hover on a missing image says where it looked; hover elsewhere describes the record', async () => {
    const missing = ((await hoverAt('img/later.png', 1))?.contents as MarkupContent).value;
    assert.match(missing, /Not found/);
    assert.ok(missing.includes(path.join(data, 'img', 'later.png')), missing);
    const rec = ((await hoverAt('"assistant"', 0))?.contents as MarkupContent).value;
    assert.match(rec, /\*\*Record 1\*\* \(line 1\) · messages\+media/);
    assert.match(rec, /2 turns · 1 image · ≈ \d+ tokens/);
  });

  test('a CodeLens offers the preview on each record with media', async () => {
    const lenses = await client.request<CodeLens[]>('textDocument/codeLens', { textDocument: { uri } });
    assert.deepEqual(
      lenses.map((l) => [l.range.start.line, l.command?.command, l.command?.arguments]),
      [
        [0, 'tunekit.previewSample', [uri, 0]],
        [1, 'tunekit.previewSample', [uri, 1]],
      ],
    );
  });

  test('the sample preview returns the record under the cursor as a chat with resolved media', async () => {
    const preview = await client.request<SamplePreview | null>('tunekit/samplePreview', { uri, position: { line: 1, character: 5 } });
    assert.ok(preview);
    assert.equal(preview.record, 1);
    assert.equal(preview.turns[0]?.role, 'user');
    const tile = preview.turns[0].parts[0]!;
    assert.equal(tile.type, 'media');
    assert.equal(tile.type === 'media' && tile.media.problem?.code, 'media-not-found');
    assert.deepEqual(preview.turns[0].parts[1], { type: 'text', text: 'And this?' });
    const first = await client.request<SamplePreview | null>('tunekit/samplePreview', { uri, record: 0 });
    const img = first?.turns[0]?.parts[0];
    assert.ok(img?.type === 'media');
    assert.deepEqual([img.media.file, img.media.width, img.media.height, img.media.type], [path.join(data, 'img', 'red.png'), 40, 20, 'png']);
  });

  test('the gallery pages images and filters records with media problems', async () => {
    const all = await client.request<GalleryPage | null>('tunekit/gallery', { uri, offset: 0, limit: 10, filter: 'all' });
    assert.deepEqual([all?.total, all?.problemRecords, all?.items.map((i) => [i.record, i.caption, i.media.file ?? null])], [2, 1, [[0, 'What colour?', path.join(data, 'img', 'red.png')], [1, 'And this?', null]]]);
    const problems = await client.request<GalleryPage | null>('tunekit/gallery', { uri, offset: 0, limit: 10, filter: 'problems' });
    assert.deepEqual(problems?.items.map((i) => [i.record, i.media.problem?.code]), [[1, 'media-not-found']]);
    const second = await client.request<GalleryPage | null>('tunekit/gallery', { uri, offset: 1, limit: 1, filter: 'all' });
    assert.deepEqual(second?.items.map((i) => i.record), [1]);
  });

  test('creating the missing image clears its error after the file-watcher notification', async () => {
    await pullUntil((d) => d.some((x) => x.code === 'media-not-found'), 'media-not-found');
    const created = writePng(path.join(data, 'img', 'later.png'), 8, 8);
    const seen = client.refreshCount;
    await client.notify('workspace/didChangeWatchedFiles', { changes: [{ uri: fileUri(created), type: FileChangeType.Created }] });
    await client.until(() => client.refreshCount > seen, 'a refresh after the watched-file change');
    const ds = await pullUntil((d) => !d.some((x) => x.code === 'media-not-found'), 'the error to clear');
    assert.deepEqual(ds, []);
    // And back: deleting it brings the error back.
    fs.unlinkSync(created);
    await client.notify('workspace/didChangeWatchedFiles', { changes: [{ uri: fileUri(created), type: FileChangeType.Deleted }] });
    await pullUntil((d) => d.some((x) => x.code === 'media-not-found'), 'the error to return');
  });
});

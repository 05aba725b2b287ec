import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CancellationTokenSource, type ProtocolConnection } from 'vscode-languageserver-protocol/node';
import { reportRequest, type ConvertResult, type ReportResult, type SplitResult } from '../../server/src/protocol/report';
import { FIXTURES, ROOT } from '../helpers/fixtures';
import { fileUri, LspClient } from '../helpers/lspClient';

// The report and the data commands over LSP, against the built server.

const doc = (name: string): string => fileUri(path.join(ROOT, 'test', 'lsp', 'docs', name));
const labelled = (i: number, label: string): string => JSON.stringify({ image: 'img.png', instruction: `Which animal is in picture ${i}?`, label });

describe('language server: dataset report', () => {
  let client: LspClient;
  let dir: string;
  before(async () => {
    client = await LspClient.start({ settings: { tokenizer: 'cl100k_base' } });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunekit-lsp-report-'));
  });
  after(async () => {
    await client.stop();
  });

  test('an open document validated before the report still gets near-duplicates (its facts are recorded once a report is asked)', async () => {
    const uri = doc('mixed-open.jsonl');
    await client.open(uri, fs.readFileSync(path.join(FIXTURES, 'report', 'mixed.jsonl'), 'utf8'));
    // Validating alone records no near-duplicate signatures (the costliest per-record fact).
    assert.ok((await client.diagnostics(uri)).some((d) => d.code === 'duplicate-sample'));
    const first = await client.request<ReportResult>('tunekit/report', { uris: [uri] });
    assert.equal(first.report!.nearDuplicates.count, 1, 'line 8 is line 7 with one word changed');
    assert.deepEqual(first.report!.nearDuplicates.examples.map((e) => [e.line, e.similarTo.line]), [[8, 7]]);
    // Diagnostics are unchanged by the switch.
    assert.ok((await client.diagnostics(uri)).some((d) => d.code === 'duplicate-sample'));
    await client.close(uri);
  });

  test('an open document is reported from its current text, and the report follows an edit', async () => {
    const uri = doc('animals.jsonl');
    const lines = ['cat', 'cat', 'dog', 'bird'].map((l, i) => labelled(i, l));
    await client.open(uri, lines.join('\n'));
    const first = await client.request<ReportResult>('tunekit/report', { uris: [uri] });
    assert.equal(first.report!.samples, 4);
    assert.deepEqual(first.report!.labels, { cat: 2, dog: 1, bird: 1 });
    assert.equal(first.report!.tokens.tokenizer, 'cl100k_base', 'the document validator counts with tunekit.tokenizer');
    assert.equal(first.report!.tokens.exact, true);
    await client.replaceLine(uri, 3, labelled(3, 'cat'));
    const second = await client.request<ReportResult>('tunekit/report', { uris: [uri] });
    assert.deepEqual(second.report!.labels, { cat: 3, dog: 1 });
    assert.equal(second.report!.files[0]!.path, path.join('test', 'lsp', 'docs', 'animals.jsonl'));
    await client.close(uri);
  });

  test('a file that is not open is read from disk, with work-done progress', async () => {
    const before = client.progress.length;
    const result = await client.request<ReportResult>('tunekit/report', { uris: [fileUri(path.join(FIXTURES, 'report', 'labels.jsonl'))], workDoneToken: 'tunekit-test-progress' });
    assert.deepEqual(result.report!.labels, { cat: 5, dog: 3, bird: 1 });
    const kinds = client.progress.slice(before).map((p) => (p.value as { kind: string }).kind);
    assert.equal(kinds[0], 'begin');
    assert.equal(kinds[kinds.length - 1], 'end');
  });

  test('cancelling the request stops reading a big file', async () => {
    const file = path.join(dir, 'big.jsonl');
    const fd = fs.openSync(file, 'w');
    const chunk: string[] = [];
    for (let i = 0; i < 300_000; i++) {
      chunk.push(JSON.stringify({ messages: [{ role: 'user', content: `Question ${i}?` }, { role: 'assistant', content: `Answer ${i}, long enough to matter.` }] }));
      if (chunk.length === 10_000) {
        fs.writeSync(fd, chunk.join('\n') + '\n');
        chunk.length = 0;
      }
    }
    fs.closeSync(fd);
    const connection = (client as unknown as { connection: ProtocolConnection }).connection;
    const source = new CancellationTokenSource();
    const before = client.progress.length;
    const pending = connection.sendRequest(reportRequest, { uris: [fileUri(file)], workDoneToken: 'tunekit-test-progress' }, source.token);
    await client.until(() => client.progress.slice(before).some((p) => (p.value as { kind: string }).kind === 'report'), 'a progress report', 60_000);
    source.cancel();
    const outcome = await pending.then(
      (r) => r,
      (err: unknown) => ({ error: err }),
    );
    if ('error' in outcome) assert.match(String((outcome.error as Error).message), /cancel/i);
    else assert.equal(outcome.cancelled, true);
    assert.ok(client.alive);
  });

  test('split and convert write new files and refuse to overwrite unless asked', async () => {
    const input = path.join(dir, 'pets.jsonl');
    fs.writeFileSync(input, Array.from({ length: 20 }, (_, i) => labelled(i, i % 4 === 0 ? 'dog' : 'cat')).join('\n') + '\n');
    const split = await client.request<SplitResult>('tunekit/split', { uri: fileUri(input), validation: 0.2, seed: 1, stratify: true });
    assert.equal(split.ok, true);
    assert.deepEqual([split.train, split.validation, split.strata], [16, 4, 2]);
    assert.ok(fs.existsSync(path.join(dir, 'pets.train.jsonl')));
    const again = await client.request<SplitResult>('tunekit/split', { uri: fileUri(input), validation: 0.2, seed: 1, stratify: true });
    assert.equal(again.ok, false);
    assert.equal(again.exists!.length, 2);
    const converted = await client.request<ConvertResult>('tunekit/convert', { uri: fileUri(input), to: 'minicpm-v' });
    assert.equal(converted.ok, true);
    assert.equal(converted.written, 20);
    const out = JSON.parse(fs.readFileSync(path.join(dir, 'pets.minicpm-v.jsonl'), 'utf8').split('\n')[0]!) as { image: string; conversations: { role: string; content: string }[] };
    assert.equal(out.conversations[1]!.content, 'dog');
    assert.equal(out.image, 'img.png');
  });
});

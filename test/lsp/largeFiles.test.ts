import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generate } from '../helpers/generate';
import { parseSettings } from '../../server/src/core/settings';
import { validateFile } from '../../server/src/node/validateFile';
import { LARGE_FILE_BYTES, type ValidateFileResult } from '../../server/src/protocol/largeFiles';
import { toDiagnostic } from '../../server/src/features/diagnostics';
import { brief, CLIENT_CAPABILITIES, fileUri, LspClient } from '../helpers/lspClient';

// Validation from disk through the real server: a file over VS Code's 50 MB sync limit is never
// opened as a document; the client asks `tunekit/validateFile` and the diagnostics arrive as
// publishDiagnostics, with work-done progress and cancellation.

const SETTINGS = {};
// OpenAI vision records of ~1.15 KB (image URLs, which are never fetched): just over 50 MB.
const RECORDS = 47_000;

describe('language server: validation of large files from disk', () => {
  let dir: string;
  let big: string;
  let client: LspClient;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunekit-large-'));
    big = generate(dir, 'openai-jsonl', RECORDS).file;
    client = await LspClient.start({ rootPath: dir, settings: SETTINGS, capabilities: { ...CLIENT_CAPABILITIES, window: { workDoneProgress: true } } });
  });

  after(async () => {
    await client?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a file over 50 MB is validated in the server and its diagnostics are published', async () => {
    assert.ok(fs.statSync(big).size > LARGE_FILE_BYTES, 'the generated file must be over the sync limit');
    const uri = fileUri(big);
    const result = await client.request<ValidateFileResult>('tunekit/validateFile', { uris: [uri], workDoneToken: 'tunekit-test-progress' });
    assert.equal(result.cancelled, false);
    assert.equal(result.files[0]?.outcome, 'validated', client.transcript);
    assert.equal(result.files[0]?.records, RECORDS);
    await client.until(() => client.published.has(uri), 'published diagnostics');
    const published = client.published.get(uri)!;

    // The same findings as validating the file in this process (one thread, no server).
    const { settings } = parseSettings(SETTINGS);
    const expected = await validateFile(big, { settings, rootDir: dir });
    assert.deepEqual(published.map(brief), expected.findings.map(toDiagnostic).map(brief));
    assert.deepEqual(
      published.map((d) => d.message),
      expected.findings.map((f) => f.message),
    );
    // The generator truncates one line in 10,000 (record 4321, 14321, ...): each is invalid JSON on its line.
    const invalid = published.filter((d) => d.code === 'invalid-json').map((d) => d.range.start.line);
    assert.deepEqual(invalid, [4321, 14321, 24321, 34321, 44321]);
    assert.ok(published.length > invalid.length, 'the conversation problems the generator plants are reported too');

    const kinds = client.progress.filter((p) => p.token === 'tunekit-test-progress').map((p) => (p.value as { kind: string }).kind);
    assert.equal(kinds[0], 'begin');
    assert.equal(kinds.at(-1), 'end');
    const begin = client.progress.find((p) => (p.value as { kind: string }).kind === 'begin')!.value as { cancellable?: boolean };
    assert.equal(begin.cancellable, true, 'the progress offers Cancel');
  });

  test('cancelling the progress stops the validation and publishes nothing', async () => {
    const copy = path.join(dir, 'copy.jsonl');
    fs.copyFileSync(big, copy);
    const uri = fileUri(copy);
    // No client token: the server creates the progress, and the client cancels it the way VS Code does.
    const pending = client.request<ValidateFileResult>('tunekit/validateFile', { uris: [uri] });
    await client.until(() => client.createdProgress.length > 0, 'window/workDoneProgress/create');
    const token = client.createdProgress.at(-1)!;
    // VS Code shows Cancel once the progress has begun; cancelling earlier could overtake the create answer.
    await client.until(() => client.progress.some((p) => p.token === token && (p.value as { kind: string }).kind === 'report'), 'a progress report');
    await client.notify('window/workDoneProgress/cancel', { token });
    const result = await pending;
    assert.equal(result.cancelled, true);
    assert.equal(result.files[0]?.outcome, 'cancelled');
    assert.equal(client.published.has(uri), false);
  });

  test('several files: datasets are validated, other JSON is skipped, open documents are left to pulled diagnostics', async () => {
    const array = path.join(dir, 'train.json');
    fs.writeFileSync(array, JSON.stringify([{ messages: [{ role: 'user', content: 'hi' }] }]));
    const config = path.join(dir, 'tsconfig.json');
    fs.writeFileSync(config, JSON.stringify({ compilerOptions: {} }));
    const open = path.join(dir, 'open.jsonl');
    fs.writeFileSync(open, '{"messages": []}\n');
    await client.open(fileUri(open), fs.readFileSync(open, 'utf8'));
    const result = await client.request<ValidateFileResult>('tunekit/validateFile', { uris: [array, config, open].map(fileUri) });
    assert.deepEqual(
      result.files.map((f) => f.outcome),
      ['validated', 'notDataset', 'open'],
    );
    await client.until(() => client.published.has(fileUri(array)), 'diagnostics for train.json');
    // The record ends on a user turn and has no answer: the conversation rule reports it.
    assert.ok(client.published.get(fileUri(array))!.length > 0);
    assert.equal(client.published.has(fileUri(open)), false);
  });
});

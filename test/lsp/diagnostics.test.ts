import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DiagnosticSeverity, DocumentDiagnosticReportKind, TextDocumentSyncKind, type Diagnostic } from 'vscode-languageserver-protocol';
import { ROOT } from '../helpers/fixtures';
import { brief, CLIENT_CAPABILITIES, fileUri, LspClient } from '../helpers/lspClient';

// The built server over stdio, driven by a real protocol client. Documents are sent in memory;
// their paths only decide which files count as datasets.
const doc = (name: string): string => fileUri(path.join(ROOT, 'test', 'lsp', 'docs', name));
const chat = (user: string, assistant: string, role = 'assistant'): string =>
  JSON.stringify({ messages: [{ role: 'user', content: user }, { role, content: assistant }] });

/** The UTF-16 range of the first occurrence of `needle` on line `line` of `text`, in `brief` form. */
function spanOf(text: string, line: number, needle: string, code: string): string {
  const lineText = text.split('\n')[line]!;
  const at = lineText.indexOf(needle);
  assert.ok(at >= 0, `"${needle}" is not on line ${line + 1}`);
  return `${line + 1}:${at + 1}-${line + 1}:${at + needle.length + 1} ${code}`;
}

const codes = (ds: Diagnostic[]): string[] => ds.map((d) => String(d.code));

describe('language server: pull diagnostics', () => {
  let client: LspClient;
  before(async () => {
    client = await LspClient.start();
  });
  after(async () => {
    await client.stop();
  });

  test('announces incremental sync and document pull diagnostics', () => {
    const caps = client.initializeResult.capabilities;
    assert.equal(caps.textDocumentSync, TextDocumentSyncKind.Incremental);
    assert.deepEqual(caps.diagnosticProvider, { identifier: 'tunekit', interFileDependencies: false, workspaceDiagnostics: false });
  });

  test('a broken JSONL gets its codes on the exact ranges', async () => {
    const text = [
      chat('Hi', 'Hello!'),
      '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "cut"}]',
      chat('Hi again', 'Hello', 'asistant'),
      chat('Empty?', '  '),
    ].join('\n');
    const uri = doc('broken.jsonl');
    await client.open(uri, text);
    const ds = await client.diagnostics(uri);
    assert.deepEqual(ds.map(brief), [
      // The record ends before its object is closed: the range is its last character.
      `2:${text.split('\n')[1]!.length}-2:${text.split('\n')[1]!.length + 1} invalid-json`,
      spanOf(text, 2, '"asistant"', 'unknown-role'),
      spanOf(text, 3, '"  "', 'empty-content'),
    ]);
    for (const d of ds) {
      assert.equal(d.source, 'tunekit');
      assert.equal(d.severity, DiagnosticSeverity.Error);
      assert.ok(typeof d.message === 'string' && d.message.length > 20, `message too short: ${JSON.stringify(d.message)}`);
      assert.equal((d.data as { record: number }).record, ds.indexOf(d) + 1);
    }
    await client.close(uri);
  });

  test('editing one line re-validates it and the next pull shows the change', async () => {
    const lines = [chat('One', 'Uno'), chat('Two', 'Dos', 'asistant'), chat('Three', 'Tres')];
    const uri = doc('edit.jsonl');
    await client.open(uri, lines.join('\n'));
    assert.deepEqual(codes(await client.diagnostics(uri)), ['unknown-role']);
    const before = await client.stats(uri);
    assert.deepEqual(before && { records: before.recordsAnalyzed, validations: before.validations }, { records: 3, validations: 1 });

    await client.replaceLine(uri, 1, chat('Two', 'Dos'));
    assert.deepEqual(await client.diagnostics(uri), []);
    await client.replaceLine(uri, 2, chat('Three', ''));
    const ds = await client.diagnostics(uri);
    assert.deepEqual(ds.map(brief), [spanOf(chat('Three', ''), 0, '""', 'empty-content').replace(/^1:(\d+)-1:/, '3:$1-3:')]);

    const afterEdits = await client.stats(uri);
    assert.equal(afterEdits?.recordsAnalyzed, 5, 'each edit must re-analyse exactly the edited record');
    assert.equal(afterEdits?.validations, 3);
    await client.close(uri);
  });

  test('an unchanged document answers "unchanged" for its previous result id', async () => {
    const uri = doc('unchanged.jsonl');
    await client.open(uri, chat('Q', 'A', 'bot'));
    const first = await client.pull(uri);
    assert.equal(first.kind, DocumentDiagnosticReportKind.Full);
    assert.ok(first.resultId);
    const second = await client.pull(uri, first.resultId);
    assert.deepEqual(second, { kind: DocumentDiagnosticReportKind.Unchanged, resultId: first.resultId });
    await client.replaceLine(uri, 0, chat('Q', 'A'));
    const third = await client.pull(uri, first.resultId);
    assert.deepEqual(third, { kind: DocumentDiagnosticReportKind.Full, resultId: third.resultId, items: [] });
    assert.notEqual(third.resultId, first.resultId);
    await client.close(uri);
  });

  test('emoji and CJK text: columns are UTF-16 code units', async () => {
    const text = [
      '{"messages": [{"role": "user", "content": "😀😀 emoji 👍🏽 before"}, {"role": "asistant", "content": "ok"}]}',
      '{"messages": [{"role": "user", "content": "中文问题，请回答"}, {"role": "机器人", "content": "好的"}]}',
      '{"messages": [{"role": "user", "content": "é\\u00e9 \\"q\\" 🎉"}, {"role": "assistant", "content": "   "}]}',
    ].join('\n');
    const uri = doc('unicode.jsonl');
    await client.open(uri, text);
    assert.deepEqual((await client.diagnostics(uri)).map(brief), [
      spanOf(text, 0, '"asistant"', 'unknown-role'),
      spanOf(text, 1, '"机器人"', 'unknown-role'),
      spanOf(text, 2, '"   "', 'empty-content'),
    ]);
    // The emoji are surrogate pairs: counting code points or UTF-8 bytes would give other columns.
    assert.match(text, /[\ud800-\udbff][\udc00-\udfff]/);
    await client.close(uri);
  });

  test('a JSON array dataset: ranges inside multi-line elements', async () => {
    const text = [
      '[',
      '  {',
      '    "instruction": "Name a colour.",',
      '    "input": "",',
      '    "output": 7',
      '  },',
      '  {"instruction": "", "input": "", "output": "Nothing was asked."},',
      '  {"instruction": "Fine", "input": "", "output": "Yes."}',
      ']',
    ].join('\n');
    // Not matched by the default tunekit.datasetFiles globs: recognised by its content.
    const uri = doc('colours.json');
    await client.open(uri, text);
    assert.deepEqual((await client.diagnostics(uri)).map(brief), [
      spanOf(text, 4, '7', 'invalid-field-type'),
      spanOf(text, 6, '""', 'empty-content'),
    ]);
    await client.close(uri);
  });

  test('JSON files that are not datasets get no diagnostics', async () => {
    const cases: [string, string][] = [
      ['config.json', '{"name": "x", "version": "1.0.0"}'],
      // Matches the default glob **/*test*.json but is an object, not an array of records.
      ['tsconfig.test.json', '{"compilerOptions": {"strict": true}}'],
      ['numbers.json', '[1, 2, 3]'],
      ['dataset_info.json', '{"mine": {"file_name": "train.json"}}'],
    ];
    for (const [name, text] of cases) {
      const uri = doc(name);
      await client.open(uri, text);
      assert.deepEqual(await client.pull(uri), { kind: DocumentDiagnosticReportKind.Full, items: [] }, name);
      assert.equal(await client.stats(uri), null, name);
      await client.close(uri);
    }
  });

  test('a .json matching tunekit.datasetFiles is validated even when its first record is unknown', async () => {
    const text = '[{"foo": 1}]';
    const uri = doc('my_train.json');
    await client.open(uri, text);
    assert.deepEqual(codes(await client.diagnostics(uri)), ['unknown-format']);
    await client.close(uri);
    // The same content elsewhere is not a dataset.
    const other = doc('foo.json');
    await client.open(other, text);
    assert.deepEqual(await client.diagnostics(other), []);
    await client.close(other);
  });

  test('untitled JSON Lines documents are datasets', async () => {
    const uri = 'untitled:Untitled-1';
    await client.open(uri, chat('Q', 'A', 'robot'), 'jsonl');
    assert.deepEqual(codes(await client.diagnostics(uri)), ['unknown-role']);
    await client.close(uri);
  });

  test('a status notification reports format, records, problems and time', async () => {
    const uri = doc('status.jsonl');
    await client.open(uri, [chat('A', 'B'), chat('C', ''), '{"messages": ['].join('\n'));
    await client.diagnostics(uri);
    await client.until(() => client.statuses.some((s) => s.uri === uri), 'a tunekit/status notification');
    const status = client.statuses.filter((s) => s.uri === uri).at(-1)!;
    assert.equal(status.isDataset, true);
    assert.equal(status.format, 'openai');
    assert.equal(status.records, 3);
    assert.deepEqual(status.problems, { error: 2, warning: 0, info: 0, hint: 0 });
    assert.equal(status.truncated, false);
    assert.equal(typeof status.ms, 'number');
    assert.ok(status.ms >= 0);
    await client.close(uri);
  });

  test('a JSON document that stops being a dataset is reported as such', async () => {
    const uri = doc('becomes-config.json');
    await client.open(uri, '[{"instruction": "Q", "input": "", "output": ""}]');
    assert.deepEqual(codes(await client.diagnostics(uri)), ['empty-content']);
    await client.change(uri, [{ text: '{"not": "a dataset"}' }]);
    assert.deepEqual(await client.diagnostics(uri), []);
    await client.until(() => client.statuses.some((s) => s.uri === uri && !s.isDataset), 'a status saying it is not a dataset');
    await client.close(uri);
  });
});

describe('language server: settings', () => {
  let client: LspClient;
  before(async () => {
    client = await LspClient.start({ settings: {} });
  });
  after(async () => {
    await client.stop();
  });

  test('a settings change makes the server ask for a refresh, and the next pull applies it', async () => {
    const uri = doc('settings.jsonl');
    const long = chat('Q', 'word '.repeat(400));
    await client.open(uri, [chat('Q', 'A'), chat('Q', 'A'), long].join('\n'));
    assert.deepEqual(codes(await client.diagnostics(uri)), ['duplicate-sample']);

    await client.changeSettings({ rules: { 'duplicate-sample': 'off' } });
    assert.deepEqual(codes(await client.diagnostics(uri)), []);

    await client.changeSettings({ rules: { 'duplicate-sample': 'error' }, maxTokens: 50 });
    const ds = await client.diagnostics(uri);
    assert.deepEqual(codes(ds), ['duplicate-sample', 'too-long']);
    assert.equal(ds[0]!.severity, DiagnosticSeverity.Error);
    await client.close(uri);
  });

  test('an invalid setting value falls back to its default and is logged', async () => {
    const uri = doc('bad-settings.jsonl');
    await client.changeSettings({ maxTokens: 'lots', rules: { 'unknown-role': 'hint' } });
    await client.open(uri, chat('Q', 'A', 'bot'));
    const ds = await client.diagnostics(uri);
    assert.deepEqual(codes(ds), ['unknown-role']);
    assert.equal(ds[0]!.severity, DiagnosticSeverity.Hint);
    assert.ok(client.logs.some((l) => l.includes('tunekit.maxTokens')), client.transcript);
    await client.close(uri);
  });
});

describe('language server: a client without workspace/configuration', () => {
  let client: LspClient;
  before(async () => {
    client = await LspClient.start({ capabilities: { ...CLIENT_CAPABILITIES, workspace: { ...CLIENT_CAPABILITIES.workspace, configuration: false } } });
  });
  after(async () => {
    await client.stop();
  });

  test('settings pushed with didChangeConfiguration apply', async () => {
    const uri = doc('pushed.jsonl');
    await client.open(uri, chat('Q', 'A', 'bot'));
    assert.deepEqual(codes(await client.diagnostics(uri)), ['unknown-role']);
    await client.changeSettings({ rules: { 'unknown-role': 'off' } }, true);
    assert.deepEqual(await client.diagnostics(uri), []);
    await client.close(uri);
  });
});

describe('language server: incrementality', () => {
  let client: LspClient;
  before(async () => {
    client = await LspClient.start();
  });
  after(async () => {
    await client.stop();
  });

  test('an edit to one line of a 5,000-line document re-analyses only that record', async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => chat(`Question ${i}`, `Answer ${i}`));
    const uri = doc('large.jsonl');
    await client.open(uri, lines.join('\n'));
    assert.deepEqual(await client.diagnostics(uri), []);
    const first = await client.stats(uri);
    assert.equal(first?.recordsAnalyzed, 5000);

    await client.replaceLine(uri, 2500, chat('Question 2500', 'Answer', 'bot'));
    assert.deepEqual((await client.diagnostics(uri)).map((d) => `${d.range.start.line} ${String(d.code)}`), ['2500 unknown-role']);
    const second = await client.stats(uri);
    assert.ok(second);
    assert.equal(second.recordsAnalyzed - first.recordsAnalyzed, 1);
    // Every record has the same format, so each one runs the same number of rules.
    assert.equal(second.ruleInvocations - first.ruleInvocations, first.ruleInvocations / 5000);
    await client.close(uri);
  });
});

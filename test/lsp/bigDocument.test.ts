import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { TextDocumentContentChangeEvent } from 'vscode-languageserver-protocol';
import { DEFAULT_SETTINGS } from '../../server/src/core/settings';
import { DatasetValidator } from '../../server/src/core/validator';
import { toDiagnostic } from '../../server/src/features/diagnostics';
import { LINE_DOCUMENT_MIN_CHARS } from '../../server/src/features/lineDocument';
import { brief, fileUri, LspClient } from '../helpers/lspClient';
import { llavaRecord, openaiRecord, rng } from '../helpers/generate';

// A JSON Lines document over 1 MB is kept as lines by the server and validated line by line.
// Through the real server, every edit must give the diagnostics a fresh validation of the same
// text gives.

let client: LspClient;
before(async () => {
  client = await LspClient.start({ rootPath: os.tmpdir() });
});
after(async () => {
  await client?.stop();
});

test('a big JSON Lines document gives fresh-validation diagnostics after every kind of edit', async () => {
  const r = rng(77);
  const lines: string[] = [];
  for (let i = 0; lines.join('\n').length < LINE_DOCUMENT_MIN_CHARS * 1.2; i++) lines.push(JSON.stringify(i % 2 ? openaiRecord(i, r) : { ...llavaRecord(i, r), image: undefined }));
  let text = lines.join('\r\n') + '\r\n';
  const uri = fileUri(path.join(os.tmpdir(), 'tunekit-big-document.jsonl'));
  await client.open(uri, text);

  const expected = (): string[] => new DatasetValidator({ settings: DEFAULT_SETTINGS }).validateText(text, 'jsonl').findings.map(toDiagnostic).map(brief);
  const check = async (what: string): Promise<void> => {
    const got = (await client.diagnostics(uri)).map(brief);
    assert.deepEqual(got, expected(), what);
  };
  await check('opened');

  const lineCount = (): number => text.split('\n').length;
  const lineText = (n: number): string => text.split('\n')[n]!.replace(/\r$/, '');
  const edits: [string, () => TextDocumentContentChangeEvent][] = [
    ['a character inside a record', () => ({ range: { start: { line: 10, character: 30 }, end: { line: 10, character: 31 } }, text: 'Z' })],
    ['a broken record', () => ({ range: { start: { line: 20, character: 0 }, end: { line: 20, character: 5 } }, text: '' })],
    ['a new record line', () => ({ range: { start: { line: 30, character: 0 }, end: { line: 30, character: 0 } }, text: `${JSON.stringify(openaiRecord(9001, r))}\r\n` })],
    ['a deleted line', () => ({ range: { start: { line: 40, character: 0 }, end: { line: 41, character: 0 } }, text: '' })],
    ['a duplicated record', () => ({ range: { start: { line: 50, character: 0 }, end: { line: 50, character: 0 } }, text: `${lineText(5)}\r\n` })],
    ['two lines joined', () => ({ range: { start: { line: 60, character: lineText(60).length }, end: { line: 61, character: 0 } }, text: '' })],
    ['a blank line', () => ({ range: { start: { line: 70, character: 0 }, end: { line: 70, character: 0 } }, text: '\r\n' })],
    ['the last line edited', () => ({ range: { start: { line: lineCount() - 2, character: 1 }, end: { line: lineCount() - 2, character: 2 } }, text: '"' })],
  ];
  for (const [what, make] of edits) {
    const change = make();
    await client.change(uri, [change]);
    text = applyChange(text, change);
    await check(what);
  }
});

/** Applies an incremental change the way the editor does (positions in UTF-16 units). */
function applyChange(text: string, change: TextDocumentContentChangeEvent): string {
  if (!('range' in change)) return change.text;
  const offset = (p: { line: number; character: number }): number => {
    let at = 0;
    for (let l = 0; l < p.line; l++) at = text.indexOf('\n', at) + 1;
    return at + p.character;
  };
  return text.slice(0, offset(change.range.start)) + change.text + text.slice(offset(change.range.end));
}

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { LineDocument } from '../../server/src/features/lineDocument';
import { DEFAULT_SETTINGS } from '../../server/src/core/settings';
import { DatasetValidator } from '../../server/src/core/validator';
import { formatFinding } from '../helpers/fixtures';
import { llavaRecord, rng } from '../helpers/generate';

/**
 * The language server keeps big documents as lines (LineDocument). It must be indistinguishable
 * from the standard TextDocument under any sequence of incremental edits, and validating it line
 * by line must give what validating its text gives.
 */

const PIECES = ['a', 'bc', ' ', '{"x": 1}', '\n', '\r\n', '\r', 'é', '😀', '', '\n\n', 'line\r\nline'];

function randomText(r: () => number, parts: number, withLoneCr: boolean): string {
  const out: string[] = [];
  for (let i = 0; i < parts; i++) {
    let p = PIECES[Math.floor(r() * PIECES.length)]!;
    if (!withLoneCr && p === '\r') p = '\n';
    out.push(p);
  }
  return out.join('');
}

function randomPosition(doc: TextDocument, r: () => number): { line: number; character: number } {
  // Out-of-range lines and characters too: both documents clamp them the same way.
  const line = Math.floor(r() * (doc.lineCount + 2)) - (r() < 0.05 ? 1 : 0);
  return { line, character: Math.floor(r() * 12) - (r() < 0.05 ? 1 : 0) };
}

/** A position an editor could send: an existing line (TextDocument itself miscounts lines after edits at lines past the end). */
function editPosition(doc: TextDocument, r: () => number): { line: number; character: number } {
  return { line: Math.floor(r() * doc.lineCount), character: Math.floor(r() * 12) };
}

function assertSame(line: TextDocument, full: TextDocument, r: () => number, what: string): void {
  assert.equal(line.getText(), full.getText(), `${what}: text`);
  assert.equal(line.lineCount, full.lineCount, `${what}: line count`);
  assert.equal(line.version, full.version, `${what}: version`);
  const length = full.getText().length;
  for (let k = 0; k < 20; k++) {
    const offset = Math.floor(r() * (length + 3)) - 1;
    assert.deepEqual(line.positionAt(offset), full.positionAt(offset), `${what}: positionAt(${offset})`);
    const pos = randomPosition(full, r);
    assert.equal(line.offsetAt(pos), full.offsetAt(pos), `${what}: offsetAt(${JSON.stringify(pos)})`);
    const end = randomPosition(full, r);
    assert.equal(line.getText({ start: pos, end }), full.getText({ start: pos, end }), `${what}: getText range`);
    const n = Math.floor(r() * (full.lineCount + 2)) - 1;
    assert.deepEqual(line.getLineRange(n), full.getLineRange(n), `${what}: getLineRange(${n})`);
    assert.equal(line.getEOLCharacters(n), full.getEOLCharacters(n), `${what}: getEOLCharacters(${n})`);
  }
}

test('LineDocument behaves like TextDocument under random incremental and full edits', () => {
  const r = rng(99);
  let handedOver = 0;
  for (let round = 0; round < 300; round++) {
    const start = randomText(r, 1 + Math.floor(r() * 40), false);
    let line: TextDocument = LineDocument.create('file:///a.jsonl', 'jsonl', 1, start);
    let full = TextDocument.create('file:///a.jsonl', 'jsonl', 1, start);
    assert.ok(line instanceof LineDocument);
    assertSame(line, full, r, `round ${round} start`);
    for (let step = 0; step < 25; step++) {
      const version = line.version + 1;
      // Each change of a batch addresses the text the previous ones left, as in LSP.
      const changes = [];
      let scratch = TextDocument.create('file:///s', 'jsonl', 0, full.getText());
      for (let c = 1 + Math.floor(r() * 3); c > 0; c--) {
        const change = r() < 0.03 ? { text: randomText(r, 10, r() < 0.3) } : { range: { start: editPosition(scratch, r), end: editPosition(scratch, r) }, text: randomText(r, Math.floor(r() * 4), r() < 0.15) };
        changes.push(change);
        scratch = TextDocument.update(scratch, [change], scratch.version + 1);
      }
      line = line instanceof LineDocument ? line.update(changes, version) : TextDocument.update(line, changes, version);
      full = TextDocument.update(full, changes, version);
      assertSame(line, full, r, `round ${round} step ${step} after ${JSON.stringify(changes)}`);
    }
    if (!(line instanceof LineDocument)) handedOver++;
  }
  assert.ok(handedOver > 0, 'some rounds met a lone \\r and handed over to TextDocument');
  assert.ok(handedOver < 300, 'most rounds stayed line documents');
});

test('a document with a lone \\r is a standard TextDocument from the start', () => {
  assert.ok(!(LineDocument.create('file:///a.jsonl', 'jsonl', 1, 'a\rb\n') instanceof LineDocument));
  assert.ok(LineDocument.create('file:///a.jsonl', 'jsonl', 1, 'a\r\nb\n') instanceof LineDocument);
});

test('validating a LineDocument line by line gives what validating its text gives, edit after edit', () => {
  const r = rng(3);
  const records = Array.from({ length: 400 }, (_, i) => JSON.stringify(llavaRecord(i, r)));
  records.splice(50, 0, '', '   ', records[10]!); // blank lines and a duplicate
  const text = '\ufeff' + records.join('\r\n') + '\n';
  let doc = LineDocument.create('file:///d.jsonl', 'jsonl', 1, text) as LineDocument;
  const incremental = new DatasetValidator({ settings: DEFAULT_SETTINGS });
  const check = (what: string): void => {
    const a = incremental.validateLines(doc);
    const b = new DatasetValidator({ settings: DEFAULT_SETTINGS }).validateText(doc.getText(), 'jsonl');
    assert.deepEqual(a.findings.map(formatFinding), b.findings.map(formatFinding), `${what}: findings`);
    assert.deepEqual(
      a.findings.map((f) => f.message),
      b.findings.map((f) => f.message),
      `${what}: messages`,
    );
    assert.deepStrictEqual(a.summaries, b.summaries, `${what}: summaries`);
  };
  check('opened');
  const before = incremental.counters.recordsAnalyzed;
  for (let step = 0; step < 60; step++) {
    const lineNo = Math.floor(r() * doc.lineCount);
    const len = doc.lineText(lineNo).length;
    const choice = r();
    let change;
    if (choice < 0.5) {
      const at = Math.floor(r() * (len + 1));
      change = { range: { start: { line: lineNo, character: at }, end: { line: lineNo, character: Math.min(len, at + 1) } }, text: r() < 0.5 ? 'x' : '' };
    } else if (choice < 0.7) change = { range: { start: { line: lineNo, character: 0 }, end: { line: lineNo, character: 0 } }, text: `${JSON.stringify(llavaRecord(1000 + step, r))}\n` };
    else if (choice < 0.85) change = { range: { start: { line: lineNo, character: 0 }, end: { line: Math.min(doc.lineCount - 1, lineNo + 1), character: 0 } }, text: '' };
    else change = { range: { start: { line: lineNo, character: len }, end: { line: lineNo, character: len } }, text: '\r\n' };
    const next = doc.update([change], doc.version + 1);
    assert.ok(next instanceof LineDocument);
    doc = next;
    check(`step ${step} ${JSON.stringify(change.range)}`);
  }
  // Each step re-analysed the records it touched, not the document.
  assert.ok(incremental.counters.recordsAnalyzed - before < 60 * 3, `${incremental.counters.recordsAnalyzed - before} records re-analysed over 60 edits`);
});

import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Diagnostic, Hover, Position } from 'vscode-languageserver-protocol';
import { DEFAULT_SETTINGS } from '../../server/src/core/settings';
import { DatasetValidator } from '../../server/src/core/validator';
import { ROOT } from '../helpers/fixtures';
import { FUZZ_ITERATIONS, FUZZ_SEED, PATHOLOGICAL, Prng, randomBytesDocument, randomDocument, seedRecords } from '../helpers/fuzz';
import { brief, fileUri, LspClient, withTimeout } from '../helpers/lspClient';

/**
 * The real server over stdio under hostile input: it never dies, answers every pull, and after
 * a storm of incremental edits its diagnostics equal a fresh validation of the final text.
 */

const doc = (name: string): string => fileUri(path.join(ROOT, 'test', 'lsp', 'docs', 'robustness', name));

/** Hang detector only: no single pull may take this long. */
const HANG_LIMIT_MS = 60_000;

function withDeadline<T>(p: Promise<T>, what: string): Promise<T> {
  return withTimeout(p, HANG_LIMIT_MS, what);
}

function lineLengths(text: string): number[] {
  return text.split('\n').map((l) => l.length);
}

function assertInside(text: string, ds: Diagnostic[], label: string): void {
  const lengths = lineLengths(text);
  for (const d of ds) {
    for (const p of [d.range.start, d.range.end]) {
      assert.ok(p.line >= 0 && p.line < lengths.length && p.character >= 0 && p.character <= lengths[p.line]!, `${brief(d)} lies outside the document (${label})`);
    }
  }
}

/** Offset → LSP position in `text` (UTF-16, lines split on \n). */
function positionAt(text: string, offset: number): Position {
  let line = 0;
  let start = 0;
  for (let nl = text.indexOf('\n'); nl >= 0 && nl < offset; nl = text.indexOf('\n', nl + 1)) {
    line++;
    start = nl + 1;
  }
  return { line, character: offset - start };
}

const chat = (user: string, assistant: string): string => JSON.stringify({ messages: [{ role: 'user', content: user }, { role: 'assistant', content: assistant }] });

describe('language server robustness', () => {
  let client: LspClient;
  before(async () => {
    client = await LspClient.start();
  });
  after(async () => {
    await client.stop();
  });

  /** Hover, code actions, code lenses and completion (whichever the server offers) all answer on `text`. */
  async function everyFeatureAnswers(uri: string, text: string, ds: Diagnostic[], label: string, logsBefore: number): Promise<void> {
    const caps = client.initializeResult.capabilities;
    const positions = [0, 1, Math.floor(text.length / 2), Math.max(0, text.length - 2)].map((o) => positionAt(text, o));
    const requests: Promise<unknown>[] = [];
    for (const position of positions) {
      if (caps.hoverProvider) requests.push(client.request('textDocument/hover', { textDocument: { uri }, position }));
      if (caps.completionProvider) requests.push(client.request('textDocument/completion', { textDocument: { uri }, position }));
    }
    if (caps.codeLensProvider) requests.push(client.request('textDocument/codeLens', { textDocument: { uri } }));
    if (caps.codeActionProvider) {
      const range = ds[0]?.range ?? { start: positions[0]!, end: positions[2]! };
      requests.push(client.request('textDocument/codeAction', { textDocument: { uri }, range, context: { diagnostics: ds.slice(0, 5) } }));
      requests.push(client.request('textDocument/codeAction', { textDocument: { uri }, range, context: { diagnostics: [], only: ['source.fixAll.tunekit'] } }));
    }
    await withDeadline(Promise.all(requests), `hover/codeAction/codeLens/completion on "${label}"`);
    assert.ok(client.alive, `the server died answering requests on "${label}":\n${client.transcript}`);
    // Handlers catch and log their exceptions; on hostile input there must be none to catch.
    const crashes = client.logs.slice(logsBefore).filter((l) => /RangeError|TypeError|ReferenceError|Maximum call stack/.test(l));
    assert.deepEqual(crashes, [], `a handler threw on "${label}"`);
  }

  test('pathological documents never crash the server; pulls answer with ranges inside the document, and hover, code actions, code lenses and completion answer too', { timeout: 600_000 }, async () => {
    for (const [i, p] of PATHOLOGICAL.entries()) {
      const uri = doc(`pathological-${i}.${p.kind === 'json' ? 'json' : 'jsonl'}`);
      const text = p.text();
      const logsBefore = client.logs.length;
      await client.open(uri, text);
      const ds = await withDeadline(client.diagnostics(uri), `the pull for "${p.name}"`);
      assertInside(text, ds, p.name);
      await everyFeatureAnswers(uri, text, ds, p.name, logsBefore);
      await client.close(uri);
      assert.ok(client.alive, `the server died on "${p.name}":\n${client.transcript}`);
    }
  });

  test(`random hostile documents never crash the server (${Math.ceil(FUZZ_ITERATIONS / 10)} documents, seed ${FUZZ_SEED})`, { timeout: 600_000 }, async () => {
    const rng = new Prng(FUZZ_SEED + 10);
    const seeds = seedRecords(ROOT);
    for (let i = 0; i < Math.ceil(FUZZ_ITERATIONS / 10); i++) {
      const asArray = rng.int(3) === 0;
      const text = rng.int(6) === 0 ? randomBytesDocument(rng) : randomDocument(rng, seeds, asArray);
      const uri = doc(`random-${i}.${asArray ? 'json' : 'jsonl'}`);
      const logsBefore = client.logs.length;
      await client.open(uri, text);
      const ds = await withDeadline(client.diagnostics(uri), `the pull for random document ${i}`);
      assertInside(text, ds, `random document ${i}: ${JSON.stringify(text.slice(0, 200))}`);
      await everyFeatureAnswers(uri, text, ds, `random document ${i}`, logsBefore);
      await client.close(uri);
      assert.ok(client.alive, `the server died on random document ${i}: ${JSON.stringify(text.slice(0, 500))}\n${client.transcript}`);
    }
  });

  test('edit storm: 1,000 rapid incremental edits, then the diagnostics equal a fresh validation of the final text', { timeout: 600_000 }, async () => {
    const rng = new Prng(FUZZ_SEED + 20);
    const lines: string[] = [];
    for (let i = 0; i < 200; i++) lines.push(chat(`Question ${i}?`, `Answer ${i}.`));
    let text = lines.join('\n');
    const uri = doc('storm.jsonl');
    await client.open(uri, text);
    await client.diagnostics(uri);
    const hoverSupported = client.initializeResult.capabilities.hoverProvider !== undefined;
    const inFlight: Promise<unknown>[] = [];
    const snippets = ['"', '{', '}', ',', 'x', '\n', '"role": "asistant"', '\\', '<|im_end|>', chat('new', 'record') + '\n', ''];
    for (let i = 0; i < 1_000; i++) {
      const start = rng.int(text.length + 1);
      const end = Math.min(text.length, start + (rng.int(3) === 0 ? rng.int(40) : 0));
      const insert = rng.pick(snippets);
      const range = { start: positionAt(text, start), end: positionAt(text, end) };
      text = text.slice(0, start) + insert + text.slice(end);
      // Not awaited one by one in spirit: the notifications queue up like fast typing does.
      inFlight.push(client.change(uri, [{ range, text: insert }]));
      // VS Code pulls as the user types; some pulls overlap the next edits.
      if (i % 10 === 9) inFlight.push(client.pull(uri));
      if (hoverSupported && i % 25 === 24) {
        inFlight.push(client.request<Hover | null>('textDocument/hover', { textDocument: { uri }, position: positionAt(text, rng.int(text.length + 1)) }));
      }
    }
    await withDeadline(Promise.all(inFlight), 'the requests sent during the storm');
    assert.ok(client.alive, `the server died during the storm:\n${client.transcript}`);

    const stormed = await withDeadline(client.diagnostics(uri), 'the final pull');
    // A fresh document with the same text, in the same server and folder: no cache, no history.
    const freshUri = doc('storm-fresh.jsonl');
    await client.open(freshUri, text);
    const fresh = await client.diagnostics(freshUri);
    const summary = (ds: Diagnostic[]): string[] => ds.map((d) => `${brief(d)} ${d.severity} ${JSON.stringify(d.message)}`);
    assert.deepEqual(summary(stormed), summary(fresh), 'the edited document disagrees with a fresh one holding the same text');
    // And the same as the core validating the final text directly.
    const core = new DatasetValidator({ settings: DEFAULT_SETTINGS }).validateText(text, 'jsonl');
    assert.deepEqual(
      stormed.map(brief),
      core.findings.map((f) => `${f.range.start.line + 1}:${f.range.start.character + 1}-${f.range.end.line + 1}:${f.range.end.character + 1} ${f.code}`),
    );
    assert.ok(stormed.length > 0, 'the storm should have broken something');
    await client.close(uri);
    await client.close(freshUri);
  });

  test('the server stays responsive to hover during an edit storm', { timeout: 300_000 }, async (t) => {
    if (client.initializeResult.capabilities.hoverProvider === undefined) {
      t.skip('the server does not provide hover yet');
      return;
    }
    const uri = doc('hover-storm.jsonl');
    let text = Array.from({ length: 500 }, (_, i) => chat(`Q${i}`, `A${i}`)).join('\n');
    await client.open(uri, text);
    const edits: Promise<unknown>[] = [];
    for (let i = 0; i < 500; i++) {
      const at = text.length;
      const insert = `\n${chat(`more ${i}`, 'yes')}`;
      edits.push(client.change(uri, [{ range: { start: positionAt(text, at), end: positionAt(text, at) }, text: insert }]));
      text += insert;
    }
    // Hovers sent right behind the edits must all come back (null is a fine answer over plain text).
    const hovers = Array.from({ length: 20 }, (_, i) => client.request<Hover | null>('textDocument/hover', { textDocument: { uri }, position: { line: i * 40, character: 20 } }));
    await withDeadline(Promise.all([...edits, ...hovers]), 'hover requests during the storm');
    assert.ok(client.alive);
    await client.close(uri);
  });
});

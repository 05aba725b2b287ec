import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CodeActionKind, type CodeAction, type Diagnostic, type TextDocumentEdit, type TextEdit } from 'vscode-languageserver-protocol';
import { ROOT } from '../helpers/fixtures';
import { fileUri, LspClient } from '../helpers/lspClient';

// Quick fixes through the real server: request code actions for a diagnostic, apply the returned
// WorkspaceEdit the way an editor does (one change set, one undo step), pull again.
const doc = (name: string): string => fileUri(path.join(ROOT, 'test', 'lsp', 'docs', name));
const chat = (user: string, assistant: string, role = 'assistant'): string =>
  JSON.stringify({ messages: [{ role: 'user', content: user }, { role, content: assistant }] });

type Pos = { line: number; character: number };
const cmp = (a: Pos, b: Pos): number => a.line - b.line || a.character - b.character;

function offsetAt(text: string, p: Pos): number {
  let at = 0;
  for (let l = 0; l < p.line; l++) at = text.indexOf('\n', at) + 1;
  return at + p.character;
}

function applyEdits(text: string, edits: readonly TextEdit[]): string {
  let out = text;
  for (const e of [...edits].sort((a, b) => cmp(b.range.start, a.range.start))) {
    out = out.slice(0, offsetAt(out, e.range.start)) + e.newText + out.slice(offsetAt(out, e.range.end));
  }
  return out;
}

describe('language server: quick fixes', () => {
  let client: LspClient;
  const texts = new Map<string, string>();
  const versions = new Map<string, number>();

  before(async () => {
    client = await LspClient.start();
  });
  after(async () => {
    await client.stop();
  });

  async function open(name: string, text: string): Promise<{ uri: string; diagnostics: Diagnostic[] }> {
    const uri = doc(name);
    texts.set(uri, text);
    versions.set(uri, 1);
    await client.open(uri, text);
    return { uri, diagnostics: await client.diagnostics(uri) };
  }

  async function actionsFor(uri: string, diagnostic: Diagnostic, only?: string[]): Promise<CodeAction[]> {
    return client.request<CodeAction[]>('textDocument/codeAction', {
      textDocument: { uri },
      range: diagnostic.range,
      context: { diagnostics: [diagnostic], ...(only ? { only } : {}) },
    });
  }

  /** Applies an action's edit as one incremental change set and returns the new diagnostics. */
  async function applyAction(uri: string, action: CodeAction): Promise<Diagnostic[]> {
    const changes = action.edit?.documentChanges as TextDocumentEdit[] | undefined;
    assert.ok(changes && changes.length === 1, 'one document edit');
    const change = changes[0]!;
    assert.equal(change.textDocument.uri, uri);
    assert.equal(change.textDocument.version, versions.get(uri), 'the edit is bound to the version it was computed on');
    const edits = change.edits as TextEdit[];
    texts.set(uri, applyEdits(texts.get(uri)!, edits));
    versions.set(uri, versions.get(uri)! + 1);
    // Later edits first, so each range is still valid when applied (what an editor's bulk edit amounts to).
    await client.change(
      uri,
      [...edits].sort((a, b) => cmp(b.range.start, a.range.start)).map((e) => ({ range: e.range, text: e.newText })),
    );
    return client.diagnostics(uri);
  }

  const line = (uri: string, n: number): string => texts.get(uri)!.split('\n')[n]!;
  const content = (uri: string, n: number, turn: number): string => (JSON.parse(line(uri, n)) as { messages: { content: string }[] }).messages[turn]!.content;

  test('announces quick fixes and source.fixAll.tunekit', () => {
    const provider = client.initializeResult.capabilities.codeActionProvider;
    assert.ok(provider && typeof provider === 'object');
    assert.deepEqual(provider.codeActionKinds, [CodeActionKind.QuickFix, 'source.fixAll.tunekit']);
  });

  test('remove a leaked token: one edit inside the string, the rest of the line unchanged', async () => {
    const l0 = chat('Caf\u00e9 "menu"', 'R\u00e9sum\u00e9 "ok"<|im_end|>');
    const { uri, diagnostics } = await open('token.jsonl', [l0, chat('Hi', 'Hello')].join('\n'));
    assert.deepEqual(
      diagnostics.map((d) => d.code),
      ['leaked-special-token'],
    );
    const actions = await actionsFor(uri, diagnostics[0]!);
    const fix = actions.find((a) => a.title === 'Remove "<|im_end|>"');
    assert.ok(fix, JSON.stringify(actions));
    assert.equal(fix.kind, CodeActionKind.QuickFix);
    assert.equal(fix.isPreferred, true);
    assert.deepEqual(fix.diagnostics, [diagnostics[0]]);
    const after = await applyAction(uri, fix);
    assert.deepEqual(after, []);
    assert.equal(line(uri, 0), l0.replace('<|im_end|>', ''));
    assert.equal(line(uri, 1), chat('Hi', 'Hello'));
  });

  test('a fix shared by several records is offered for all of them at once', async () => {
    const text = [chat('A', 'One.<|eot_id|>'), chat('B', 'Two.'), chat('C', 'Three.<|eot_id|>'), chat('D', 'Four.<|eot_id|>')].join('\n');
    const { uri, diagnostics } = await open('group.jsonl', text);
    assert.equal(diagnostics.length, 3);
    const actions = await actionsFor(uri, diagnostics[1]!);
    const all = actions.find((a) => a.title === 'Remove "<|eot_id|>" (all 3 records)');
    assert.ok(all, actions.map((a) => a.title).join(' | '));
    assert.equal(all.diagnostics?.length, 3);
    assert.deepEqual(await applyAction(uri, all), []);
    assert.deepEqual(
      [0, 1, 2, 3].map((n) => content(uri, n, 1)),
      ['One.', 'Two.', 'Three.', 'Four.'],
    );
  });

  test('strip a prompt scaffold, keeping the inner instruction', async () => {
    const { uri, diagnostics } = await open(
      'scaffold.jsonl',
      chat(
        'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\nName three fruits.\n\n### Response:\n',
        'Apple, pear and plum are fruits.',
      ),
    );
    assert.deepEqual(
      diagnostics.map((d) => d.code),
      ['leaked-generation-prompt'],
    );
    const fix = (await actionsFor(uri, diagnostics[0]!)).find((a) => a.title === 'Strip the prompt scaffold, keep the instruction');
    assert.ok(fix);
    assert.deepEqual(await applyAction(uri, fix), []);
    assert.equal(content(uri, 0, 0), 'Name three fruits.');
  });

  test('strip a repeated boilerplate span: in this record, then in every record carrying it', async () => {
    const tail = '\nPlease look carefully at every detail of the picture and explain your reasoning in full, step by step.';
    const lines = ['Sky?', 'Grass?', 'Sun?', 'Sea?', 'Snow?', 'Rose?'].map((q, i) => chat(q + tail, `Answer number ${i + 1} in a sentence.`));
    const { uri, diagnostics } = await open('repeated.jsonl', lines.join('\n'));
    assert.equal(diagnostics.filter((d) => d.code === 'repeated-boilerplate').length, 6);
    const actions = await actionsFor(uri, diagnostics[0]!);
    const one = actions.find((a) => a.title === 'Remove this repeated text');
    const all = actions.find((a) => a.title === 'Remove this repeated text (all 6 records)');
    assert.ok(one && all, actions.map((a) => a.title).join(' | '));
    assert.notEqual(one.isPreferred, true, 'stripping text is not a safe fix');
    // This record only: 5 records still carry it, which is still at the default threshold (5).
    let after = await applyAction(uri, one);
    assert.equal(content(uri, 0, 0), 'Sky?');
    assert.equal(after.filter((d) => d.code === 'repeated-boilerplate').length, 5);
    const next = (await actionsFor(uri, after[0]!)).find((a) => a.title === 'Remove this repeated text (all 5 records)');
    assert.ok(next);
    after = await applyAction(uri, next);
    assert.deepEqual(after, []);
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((n) => content(uri, n, 0)),
      ['Sky?', 'Grass?', 'Sun?', 'Sea?', 'Snow?', 'Rose?'],
    );
  });

  test('rename an unknown role to the format name', async () => {
    const { uri, diagnostics } = await open('role.jsonl', chat('Hi', 'Hello there.', 'Assistant'));
    assert.deepEqual(
      diagnostics.map((d) => d.code),
      ['unknown-role'],
    );
    const fix = (await actionsFor(uri, diagnostics[0]!)).find((a) => a.title === 'Rename role "Assistant" to "assistant"');
    assert.ok(fix);
    assert.deepEqual(await applyAction(uri, fix), []);
    assert.equal(line(uri, 0), chat('Hi', 'Hello there.'));
  });

  test('source.fixAll.tunekit applies every safe fix of the file as one edit and leaves unsafe ones', async () => {
    const text = [
      chat('Name a colour.<|im_end|>', 'Blue is a colour.</s>'),
      chat('Name a river.\n<|im_start|>assistant\n', 'The Nile is a river.', 'Assistant'),
      chat('Is it good?', 'As an AI language model, I cannot judge. It looks fine.'),
    ].join('\n');
    const { uri, diagnostics } = await open('fixall.jsonl', text);
    assert.equal(diagnostics.length, 5);
    const actions = await client.request<CodeAction[]>('textDocument/codeAction', {
      textDocument: { uri },
      range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
      context: { diagnostics: [], only: ['source.fixAll'] },
    });
    assert.equal(actions.length, 1, 'only the fix-all action is returned for only: source.fixAll');
    const fixAll = actions[0]!;
    assert.equal(fixAll.kind, 'source.fixAll.tunekit');
    assert.match(fixAll.title, /^Fix all safe problems in file \(4\)$/);
    const after = await applyAction(uri, fixAll);
    assert.deepEqual(
      after.map((d) => d.code),
      ['ai-boilerplate'],
    );
    assert.equal(content(uri, 0, 0), 'Name a colour.');
    assert.equal(content(uri, 0, 1), 'Blue is a colour.');
    assert.equal(content(uri, 1, 0), 'Name a river.');
    assert.equal((JSON.parse(line(uri, 1)) as { messages: { role: string }[] }).messages[1]!.role, 'assistant');
  });

  test('no actions for a stale range or a document without fixes', async () => {
    const { uri, diagnostics } = await open('clean.jsonl', chat('Hi', 'Hello there.'));
    assert.deepEqual(diagnostics, []);
    const actions = await client.request<CodeAction[]>('textDocument/codeAction', {
      textDocument: { uri },
      range: { start: { line: 0, character: 0 }, end: { line: 0, character: 5 } },
      context: { diagnostics: [] },
    });
    assert.deepEqual(actions, []);
  });
});

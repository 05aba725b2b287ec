import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CompletionItemKind, DiagnosticSeverity, type CompletionItem, type Hover, type MarkupContent, type TextEdit } from 'vscode-languageserver-protocol';
import { ROOT } from '../helpers/fixtures';
import { brief, fileUri, LspClient } from '../helpers/lspClient';

/** Run configs through the built language server over stdio: diagnostics, completion, hover. */

const SAMPLE = path.join(ROOT, 'samples', 'runs', 'smoke.tunekit.yaml');
const sampleText = fs.readFileSync(SAMPLE, 'utf8');
/** A config next to the sample, so its dataset paths resolve the same way. */
const uriNextToSample = (name: string): string => fileUri(path.join(ROOT, 'samples', 'runs', name));

function positionOf(text: string, needle: string, delta = 0): { line: number; character: number } {
  const at = text.indexOf(needle) + delta;
  assert.ok(at >= delta, `"${needle}" not in text`);
  const before = text.slice(0, at).split('\n');
  return { line: before.length - 1, character: before[before.length - 1]!.length };
}

describe('language server: run configs (*.tunekit.yaml)', () => {
  let client: LspClient;
  before(async () => {
    client = await LspClient.start();
  });
  after(async () => {
    await client.stop();
  });

  test('the sample run config has no diagnostics', async () => {
    const uri = fileUri(SAMPLE);
    await client.open(uri, sampleText, 'yaml');
    assert.deepEqual(await client.diagnostics(uri), []);
  });

  test('schema problems and missing dataset files land on the exact YAML nodes', async () => {
    const text = sampleText.replace('recipe: smoke', 'recipe: smok').replace('path: data/train.jsonl', 'path: data/missing.jsonl').replace('  gpus: 0', '  gpus: 0\n  gpuz: 2');
    const uri = uriNextToSample('broken.tunekit.yaml');
    await client.open(uri, text, 'yaml');
    const ds = await client.diagnostics(uri);
    // The range of `needle`, found as the end of the first occurrence of `context`.
    const at = (context: string, needle: string): string => {
      const p = positionOf(text, context, context.length - needle.length);
      return `${p.line + 1}:${p.character + 1}-${p.line + 1}:${p.character + needle.length + 1} run-config`;
    };
    assert.deepEqual(ds.map(brief).sort(), [at('recipe: smok', 'smok'), at('gpuz', 'gpuz'), at('data/missing.jsonl', 'data/missing.jsonl')].sort());
    assert.ok(ds.every((d) => d.severity === DiagnosticSeverity.Error && d.source === 'tunekit'));
    const messages = ds.map((d) => (typeof d.message === 'string' ? d.message : d.message.value));
    assert.ok(messages.some((m) => /recipe must be one of llamafactory, ms-swift, command, smoke/.test(m)), messages.join('\n'));
    assert.ok(messages.some((m) => /data\/missing\.jsonl does not exist/.test(m)), messages.join('\n'));
  });

  test('completion offers the enum values of a field and the missing fields of a map', async () => {
    const text = 'name: x\nmethod: \nbackend:\n  type: ssh\n  \n';
    const uri = uriNextToSample('complete.tunekit.yaml');
    await client.open(uri, text, 'yaml');
    const values = await client.request<CompletionItem[]>('textDocument/completion', { textDocument: { uri }, position: { line: 1, character: 8 } });
    assert.deepEqual(values.map((c) => c.label), ['lora', 'qlora', 'full']);
    assert.ok(values.every((c) => c.kind === CompletionItemKind.EnumMember));
    const keys = await client.request<CompletionItem[]>('textDocument/completion', { textDocument: { uri }, position: { line: 4, character: 2 } });
    assert.deepEqual(keys.map((c) => c.label), ['host', 'remoteDir', 'gpus']);
    assert.match((keys[0]!.documentation as MarkupContent).value, /ssh destination/);
    const replace = await client.request<CompletionItem[]>('textDocument/completion', { textDocument: { uri: fileUri(SAMPLE) }, position: positionOf(sampleText, 'smoke\ndatasets', 2) });
    const smoke = replace.find((c) => c.label === 'ms-swift')!;
    assert.equal((smoke.textEdit as TextEdit).newText, 'ms-swift');
    assert.deepEqual((smoke.textEdit as TextEdit).range.start, positionOf(sampleText, 'smoke\ndatasets'));
  });

  test('hover documents a field, with its values and default', async () => {
    const hover = await client.request<Hover | null>('textDocument/hover', { textDocument: { uri: fileUri(SAMPLE) }, position: positionOf(sampleText, 'remoteDir', 3) });
    const value = (hover!.contents as MarkupContent).value;
    assert.match(value, /^\*\*backend\.remoteDir\*\* · string/);
    assert.match(value, /Default: `"~\/tunekit-runs"`/);
    const onValue = await client.request<Hover | null>('textDocument/hover', { textDocument: { uri: fileUri(SAMPLE) }, position: positionOf(sampleText, 'smoke\ndatasets', 1) });
    assert.match((onValue!.contents as MarkupContent).value, /Values: `llamafactory`, `ms-swift`, `command`, `smoke`/);
  });
});

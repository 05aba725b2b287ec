import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/fixtures';

/**
 * The TextMate injection grammar (syntaxes/) that highlights media placeholders and control tokens
 * inside JSON and JSON Lines strings. Its cases (test/grammar/*.test.json[l]) run through
 * vscode-tmgrammar-test, which loads the grammar the way VS Code does: from package.json's
 * `contributes.grammars`, injected by `injectTo`. VS Code's own JSON grammars are not installed
 * here, so minimal stand-ins with the same scope names play the base grammars.
 */

interface GrammarContribution {
  scopeName: string;
  path: string;
  injectTo?: string[];
}

const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { contributes: { grammars?: GrammarContribution[] } };

test('package.json contributes the injection grammar into JSON and JSON Lines', () => {
  const g = manifest.contributes.grammars?.find((x) => x.injectTo);
  assert.ok(g, 'no injection grammar contributed');
  assert.deepEqual([...g.injectTo!].sort(), ['source.json', 'source.json.lines']);
  const grammar = JSON.parse(fs.readFileSync(path.join(ROOT, g.path), 'utf8')) as { scopeName: string; injectionSelector: string };
  assert.equal(grammar.scopeName, g.scopeName);
  // Only string values, never property names (VS Code's keys are `string.json support.type.property-name.json`).
  assert.equal(grammar.injectionSelector, 'L:string.quoted.double.json');
});

test('grammar cases pass under vscode-tmgrammar-test', () => {
  const bin = path.join(ROOT, 'node_modules', 'vscode-tmgrammar-test', 'dist', 'unit.js');
  assert.ok(fs.existsSync(bin), 'vscode-tmgrammar-test is not installed (npm ci)');
  const cases = fs.readdirSync(path.join(ROOT, 'test', 'grammar')).filter((f) => /\.test\.jsonl?$/.test(f));
  assert.ok(cases.length >= 2);
  const r = spawnSync(
    process.execPath,
    [
      bin,
      '--compact',
      '-g',
      'test/grammar/json.stand-in.tmLanguage.json',
      '-g',
      'test/grammar/jsonl.stand-in.tmLanguage.json',
      ...cases.map((c) => `test/grammar/${c}`),
    ],
    { cwd: ROOT, encoding: 'utf8' },
  );
  assert.equal(r.status, 0, `vscode-tmgrammar-test failed:\n${r.stdout}\n${r.stderr}`);
  for (const c of cases) assert.match(r.stdout, new RegExp(`${c.replace(/\./g, '\\.')} run successfu`), `${c} did not run`);
});

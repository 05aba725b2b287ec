import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { State, type LanguageClient } from 'vscode-languageclient/node';
import { CODES } from '../../../server/src/core/codes';
import { statsRequest } from '../../../server/src/protocol/status';
import type { VsTest } from './index';

// Runs inside VS Code with samples/ open. Waits on VS Code events with a deadline; never sleeps.

/** What the extension's activate() returns (client/src/extension.ts; not imported: it is another tsc project). */
interface TunekitApi {
  client: LanguageClient;
}

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const SAMPLES = path.join(ROOT, 'samples');

/** A broken JSONL sample: the first `.jsonl` under samples/ whose path says "broken". */
function brokenSample(): string {
  const all = (fs.readdirSync(SAMPLES, { recursive: true }) as string[]).filter((p) => p.endsWith('.jsonl')).sort();
  const pick = all.find((p) => /broken/i.test(p)) ?? all[0];
  assert.ok(pick, 'samples/ holds no .jsonl file');
  return path.join(SAMPLES, pick);
}

function tunekitDiagnostics(uri: vscode.Uri): vscode.Diagnostic[] {
  return vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'tunekit');
}

/** Resolves with the document's Tunekit diagnostics once `accept` holds for them. */
function waitForDiagnostics(uri: vscode.Uri, accept: (ds: vscode.Diagnostic[]) => boolean, what: string, timeoutMs = 30_000): Promise<vscode.Diagnostic[]> {
  return new Promise((resolve, reject) => {
    const done = (ds: vscode.Diagnostic[]): void => {
      clearTimeout(timer);
      listener.dispose();
      resolve(ds);
    };
    const listener = vscode.languages.onDidChangeDiagnostics((e) => {
      if (!e.uris.some((u) => u.toString() === uri.toString())) return;
      const ds = tunekitDiagnostics(uri);
      if (accept(ds)) done(ds);
    });
    const timer = setTimeout(() => {
      listener.dispose();
      reject(new Error(`timed out waiting for ${what}; have: ${JSON.stringify(tunekitDiagnostics(uri).map((d) => d.code))}`));
    }, timeoutMs);
    const now = tunekitDiagnostics(uri);
    if (accept(now)) done(now);
  });
}

async function api(): Promise<TunekitApi> {
  const ext = vscode.extensions.getExtension<TunekitApi>('tunekit.tunekit');
  assert.ok(ext, 'the Tunekit extension is not loaded');
  return ext.activate();
}

const codeOf = (d: vscode.Diagnostic): string => String(typeof d.code === 'object' ? d.code.value : d.code);

export const tests: VsTest[] = [
  {
    name: 'opening a broken sample shows Tunekit diagnostics',
    async run() {
      const uri = vscode.Uri.file(brokenSample());
      const waiting = waitForDiagnostics(uri, (ds) => ds.length > 0, 'diagnostics on the broken sample');
      const doc = await vscode.workspace.openTextDocument(uri);
      assert.equal(doc.languageId, 'jsonl');
      await vscode.window.showTextDocument(doc);
      const ds = await waiting;
      assert.ok(ds.some((d) => d.severity === vscode.DiagnosticSeverity.Error), 'a broken sample has at least one error');
      for (const d of ds) {
        assert.ok(codeOf(d) in CODES, `unknown code ${codeOf(d)}`);
        assert.ok(d.range.start.line < doc.lineCount);
        assert.ok(d.message.length > 0);
      }
    },
  },
  {
    name: 'an edit is validated again through pull diagnostics',
    async run() {
      const uri = vscode.Uri.file(brokenSample());
      const doc = await vscode.workspace.openTextDocument(uri);
      await vscode.window.showTextDocument(doc);
      const waiting = waitForDiagnostics(
        uri,
        (ds) => ds.some((d) => codeOf(d) === 'invalid-json' && d.range.start.line === 0),
        'invalid-json on the inserted first line',
      );
      const edit = new vscode.WorkspaceEdit();
      edit.insert(uri, new vscode.Position(0, 0), '{"messages": [\n');
      assert.ok(await vscode.workspace.applyEdit(edit));
      await waiting;
      const client = (await api()).client;
      const stats = await client.sendRequest(statsRequest, { uri: uri.toString() });
      assert.ok(stats && stats.recordsAnalyzed > 0);
      await vscode.commands.executeCommand('workbench.action.files.revert');
    },
  },
  {
    name: 'Tunekit: Restart Language Server brings the server back',
    async run() {
      const client = (await api()).client;
      const running = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the server did not come back within 30 s')), 30_000);
        const sub = client.onDidChangeState((e) => {
          if (e.newState === State.Running) {
            clearTimeout(timer);
            sub.dispose();
            resolve();
          }
        });
      });
      await vscode.commands.executeCommand('tunekit.restartServer');
      await running;
      const uri = vscode.Uri.file(brokenSample());
      await waitForDiagnostics(uri, (ds) => ds.length > 0, 'diagnostics after the restart');
    },
  },
];

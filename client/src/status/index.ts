import * as path from 'node:path';
import * as vscode from 'vscode';
import { State, type LanguageClient } from 'vscode-languageclient/node';
import { statusNotification, type StatusParams } from '../../../server/src/protocol/status';

/**
 * A language status item for dataset documents: the detected format, record count and
 * validation time of the active document, and the server's health (failures show here rather
 * than in pop-ups).
 */
export function registerStatus(context: vscode.ExtensionContext, client: LanguageClient): void {
  const item = vscode.languages.createLanguageStatusItem('tunekit.status', { language: 'jsonl' });
  item.name = 'Tunekit';
  const statuses = new Map<string, StatusParams>();
  let serverState = client.state;

  const update = (): void => {
    item.selector = datasetSelector(statuses);
    item.busy = serverState === State.Starting;
    if (serverState === State.Stopped) {
      item.severity = vscode.LanguageStatusSeverity.Error;
      item.text = '$(error) Tunekit server stopped';
      item.detail = 'Validation is off until the server restarts';
      item.command = { title: 'Restart', command: 'tunekit.restartServer' };
      return;
    }
    const uri = vscode.window.activeTextEditor?.document.uri.toString();
    const status = uri ? statuses.get(uri) : undefined;
    item.command = { title: 'Problems', command: 'workbench.actions.view.problems' };
    if (!status) {
      item.severity = vscode.LanguageStatusSeverity.Information;
      item.text = 'Tunekit';
      item.detail = serverState === State.Starting ? 'Starting…' : 'Waiting for validation';
      return;
    }
    item.severity = status.error ? vscode.LanguageStatusSeverity.Warning : vscode.LanguageStatusSeverity.Information;
    item.text = statusText(status);
    item.detail = status.error ? `Validation failed (${status.error}); showing the last results` : problemText(status);
  };

  context.subscriptions.push(
    item,
    client.onNotification(statusNotification, (status) => {
      if (status.isDataset) statuses.set(status.uri, status);
      else statuses.delete(status.uri);
      update();
    }),
    client.onDidChangeState((e) => {
      serverState = e.newState;
      if (e.newState === State.Stopped) statuses.clear();
      update();
    }),
    vscode.window.onDidChangeActiveTextEditor(update),
    vscode.workspace.onDidCloseTextDocument((doc) => {
      if (statuses.delete(doc.uri.toString())) update();
    }),
  );
  update();
}

/** `openai · 1,234 records · 12 ms` */
export function statusText(s: StatusParams): string {
  const records = `${s.records.toLocaleString('en-US')} record${s.records === 1 ? '' : 's'}`;
  return [s.format ?? 'unknown format', records, `${Math.round(s.ms).toLocaleString('en-US')} ms`].join(' · ');
}

/** `2 errors, 1 warning` */
export function problemText(s: StatusParams): string {
  const parts: string[] = [];
  for (const [n, word] of [
    [s.problems.error, 'error'],
    [s.problems.warning, 'warning'],
    [s.problems.info, 'info'],
    [s.problems.hint, 'hint'],
  ] as const) {
    if (n) parts.push(`${n} ${word}${n === 1 || word === 'info' ? '' : 's'}`);
  }
  const text = parts.length ? parts.join(', ') : 'No problems';
  return s.truncated ? `${text} (stopped at tunekit.maxProblems)` : text;
}

/** JSON Lines documents, plus the JSON files the server found to be datasets. */
function datasetSelector(statuses: Map<string, StatusParams>): vscode.DocumentSelector {
  const filters: vscode.DocumentFilter[] = [{ language: 'jsonl' }];
  for (const uri of statuses.keys()) {
    const parsed = vscode.Uri.parse(uri);
    if (parsed.scheme !== 'file' || !parsed.path.toLowerCase().endsWith('.json')) continue;
    const base = path.posix.basename(parsed.path);
    // Glob metacharacters are escaped as one-character classes; names with "]" or "\" are left out.
    if (/[\]\\]/.test(base)) continue;
    const literal = base.replace(/[*?[{}]/g, (c) => `[${c}]`);
    filters.push({ language: 'json', pattern: new vscode.RelativePattern(vscode.Uri.joinPath(parsed, '..'), literal) });
  }
  return filters;
}

import * as path from 'node:path';
import * as vscode from 'vscode';
import { State, WorkDoneProgress, type LanguageClient } from 'vscode-languageclient/node';
import { LARGE_FILE_BYTES, validateFileRequest, type ValidateFileResult } from '../../../server/src/protocol/largeFiles';

/**
 * Big dataset files: VS Code opens files over 50 MB in an editor but never hands them to
 * extensions, so the language server gets no document to validate. When such a dataset is open
 * in a tab, Tunekit offers (`tunekit.largeFiles: ask`) or starts (`auto`) validation from disk on
 * the server, with a cancellable progress notification; the diagnostics arrive in the Problems
 * panel. `Tunekit: Validate Workspace Datasets` does the same for every dataset file.
 */

type LargeFilesMode = 'ask' | 'auto' | 'off';

const DATASET_EXTENSIONS = new Set(['.jsonl', '.ndjson', '.json']);
/** Folders never searched for datasets (dependencies, build output, Tunekit's own run records). */
const EXCLUDE = '**/{node_modules,.git,.tunekit,out,.vscode-test}/**';

export function registerLargeFiles(context: vscode.ExtensionContext, client: LanguageClient): void {
  /** Files already offered or validated, by uri, with the modification time seen then. */
  const seen = new Map<string, number>();
  let progressIds = 0;

  const validate = async (uris: vscode.Uri[], title: string): Promise<ValidateFileResult | undefined> =>
    vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
      const workDoneToken = `tunekit-large-files-${++progressIds}`;
      let shown = 0;
      const subscription = client.onProgress(WorkDoneProgress.type, workDoneToken, (value) => {
        if (value.kind === 'end') return;
        const percentage = value.percentage ?? shown;
        progress.report({ ...(value.message ? { message: value.message } : {}), increment: Math.max(0, percentage - shown) });
        shown = Math.max(shown, percentage);
      });
      try {
        // Cancelling the notification cancels the request; the server stops reading the file.
        return await client.sendRequest(validateFileRequest, { uris: uris.map((u) => u.toString()), workDoneToken }, token);
      } catch (err) {
        if (!token.isCancellationRequested) void vscode.window.showErrorMessage(`Tunekit could not validate from disk: ${err instanceof Error ? err.message : String(err)}`);
        return undefined;
      } finally {
        subscription.dispose();
      }
    });

  const validateLarge = async (uri: vscode.Uri, size: number): Promise<void> => {
    const name = path.basename(uri.fsPath);
    const result = await validate([uri], `Tunekit: validating ${name} (${(size / 1e6).toFixed(0)} MB)`);
    const file = result?.files[0];
    if (!file || file.outcome !== 'validated') {
      if (file?.outcome === 'failed') void vscode.window.showErrorMessage(`Tunekit could not validate ${name}: ${file.error ?? 'unknown error'}`);
      return;
    }
    const p = file.problems!;
    const n = p.error + p.warning + p.info + p.hint;
    const choice = await vscode.window.showInformationMessage(
      `Tunekit: ${name}: ${n === 0 ? 'no problems' : `${n}${file.truncated ? '+' : ''} problems (${p.error} errors, ${p.warning} warnings)`} in ${(file.records ?? 0).toLocaleString()} records.`,
      ...(n > 0 ? ['Show Problems'] : []),
    );
    if (choice === 'Show Problems') await vscode.commands.executeCommand('workbench.actions.view.problems');
  };

  /** Looks at the open tabs for dataset files too big to be synced, and offers or starts validation. */
  const checkTabs = async (): Promise<void> => {
    const synced = new Set(vscode.workspace.textDocuments.map((d) => d.uri.toString()));
    for (const uri of largeCandidates()) {
      const key = uri.toString();
      if (synced.has(key)) continue;
      let stat: vscode.FileStat;
      try {
        stat = await vscode.workspace.fs.stat(uri);
      } catch {
        continue;
      }
      if (stat.size <= LARGE_FILE_BYTES || seen.get(key) === stat.mtime) continue;
      seen.set(key, stat.mtime);
      const mode = vscode.workspace.getConfiguration('tunekit', uri).get<LargeFilesMode>('largeFiles', 'ask');
      if (mode === 'off') continue;
      if (mode === 'ask') {
        const choice = await vscode.window.showInformationMessage(
          `${path.basename(uri.fsPath)} is ${(stat.size / 1e6).toFixed(0)} MB: VS Code does not pass files this large to extensions, so Tunekit has not checked it. Validate it from disk?`,
          'Validate',
          'Always',
        );
        if (choice === 'Always') await vscode.workspace.getConfiguration('tunekit').update('largeFiles', 'auto', vscode.ConfigurationTarget.Global);
        if (choice !== 'Validate' && choice !== 'Always') continue;
      }
      await validateLarge(uri, stat.size);
    }
  };

  // A big file rewritten on disk (a data pipeline's output) is offered or validated again.
  const watcher = vscode.workspace.createFileSystemWatcher('**/*.{jsonl,ndjson,json}', true, false, true);
  context.subscriptions.push(
    watcher,
    watcher.onDidChange((uri) => {
      if (seen.has(uri.toString()) && client.isRunning()) void checkTabs();
    }),
    vscode.window.tabGroups.onDidChangeTabs(() => {
      if (client.isRunning()) void checkTabs();
    }),
    vscode.commands.registerCommand('tunekit.validateWorkspaceDatasets', async () => {
      const found = await vscode.workspace.findFiles('**/*.{jsonl,ndjson,json}', EXCLUDE);
      if (found.length === 0) {
        void vscode.window.showInformationMessage('Tunekit: no .jsonl, .ndjson or .json files in the workspace.');
        return;
      }
      found.sort((a, b) => a.fsPath.localeCompare(b.fsPath));
      // The server decides which .json files are datasets (by content and tunekit.datasetFiles).
      const result = await validate(found, `Tunekit: validating workspace datasets`);
      if (!result) return;
      const validated = result.files.filter((f) => f.outcome === 'validated' || f.outcome === 'open');
      const problems = result.files.reduce((n, f) => n + (f.problems ? f.problems.error + f.problems.warning + f.problems.info + f.problems.hint : 0), 0);
      const failed = result.files.filter((f) => f.outcome === 'failed');
      const choice = await vscode.window.showInformationMessage(
        `Tunekit: ${result.cancelled ? 'cancelled after ' : ''}${validated.length} dataset file${validated.length === 1 ? '' : 's'}, ${problems} problem${problems === 1 ? '' : 's'}` +
          (failed.length ? `; ${failed.length} could not be read` : '') +
          '.',
        'Show Problems',
      );
      if (choice === 'Show Problems') await vscode.commands.executeCommand('workbench.actions.view.problems');
    }),
  );
  // Tabs restored at start-up are checked once the server can answer.
  if (client.isRunning()) void checkTabs();
  context.subscriptions.push(
    client.onDidChangeState((e) => {
      if (e.newState === State.Running) void checkTabs();
    }),
  );
}

/** file: URIs of dataset-like files open in editor tabs. */
function largeCandidates(): vscode.Uri[] {
  const out: vscode.Uri[] = [];
  for (const group of vscode.window.tabGroups.all) {
    for (const tab of group.tabs) {
      if (!(tab.input instanceof vscode.TabInputText)) continue;
      const uri = tab.input.uri;
      if (uri.scheme === 'file' && DATASET_EXTENSIONS.has(path.extname(uri.fsPath).toLowerCase())) out.push(uri);
    }
  }
  return out;
}

import * as crypto from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { WorkDoneProgress, type LanguageClient } from 'vscode-languageclient/node';
import { reportPageHtml } from '../../../server/src/node/reportHtml';
import { reportRequest, type ReportResult } from '../../../server/src/protocol/report';

/**
 * `Tunekit: Show Dataset Report`: a webview per dataset drawing the server's report with the same
 * page and script as `tunekit report --html`. It asks again (debounced) as the document is edited;
 * the server re-analyses only the edited records. Big files (not open, or large) get a
 * cancellable progress notification.
 */

/** Files at least this big are reported under a cancellable notification; smaller ones in the status bar. */
const NOTIFY_BYTES = 5 * 1024 * 1024;
/** Keystrokes come in bursts: ask once they settle. */
const DEBOUNCE_MS = 600;

export class ReportPanel implements vscode.Disposable {
  private static readonly panels = new Map<string, ReportPanel>();
  private readonly disposables: vscode.Disposable[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inFlight: vscode.CancellationTokenSource | undefined;
  private progressIds = 0;
  private lastResult: ReportResult | undefined;
  private ready = false;

  static show(context: vscode.ExtensionContext, client: LanguageClient, uri: vscode.Uri): ReportPanel {
    const key = uri.toString();
    let panel = ReportPanel.panels.get(key);
    if (panel) panel.panel.reveal(vscode.ViewColumn.Beside, true);
    else {
      panel = new ReportPanel(context, client, uri);
      ReportPanel.panels.set(key, panel);
    }
    void panel.refresh(true);
    return panel;
  }

  private readonly panel: vscode.WebviewPanel;

  private constructor(
    context: vscode.ExtensionContext,
    private readonly client: LanguageClient,
    readonly uri: vscode.Uri,
  ) {
    const assets = vscode.Uri.joinPath(context.extensionUri, 'server', 'out');
    this.panel = vscode.window.createWebviewPanel('tunekit.report', `Report: ${path.basename(uri.path)}`, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
      enableScripts: true,
      retainContextWhenHidden: true,
      localResourceRoots: [assets],
    });
    const webview = this.panel.webview;
    webview.html = reportPageHtml(undefined, {
      title: `Tunekit report: ${path.basename(uri.path)}`,
      nonce: crypto.randomBytes(16).toString('base64'),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(assets, 'reportView.js')).toString(),
      cspSource: webview.cspSource,
    });
    this.disposables.push(
      this.panel.onDidDispose(() => this.dispose()),
      webview.onDidReceiveMessage((m: { type?: string; code?: string }) => {
        if (m.type === 'ready') {
          this.ready = true;
          this.post();
        } else if (m.type === 'showProblems') void vscode.commands.executeCommand('workbench.actions.view.problems');
      }),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document.uri.toString() === this.uri.toString() && e.contentChanges.length > 0) this.schedule();
      }),
      vscode.workspace.onDidSaveTextDocument((d) => {
        if (d.uri.toString() === this.uri.toString()) this.schedule();
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('tunekit', this.uri)) this.schedule();
      }),
    );
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(false), DEBOUNCE_MS);
  }

  /** Asks the server for the report; a newer request cancels the one in flight. */
  async refresh(first: boolean): Promise<void> {
    this.inFlight?.cancel();
    const source = new vscode.CancellationTokenSource();
    this.inFlight = source;
    const big = await this.isBig();
    const title = `Tunekit: report of ${path.basename(this.uri.path)}`;
    const run = async (progress: vscode.Progress<{ message?: string; increment?: number }>, token: vscode.CancellationToken): Promise<void> => {
      const workDoneToken = `tunekit-report-${++this.progressIds}`;
      let shown = 0;
      const sub = this.client.onProgress(WorkDoneProgress.type, workDoneToken, (value) => {
        if (value.kind === 'end') return;
        const percentage = value.percentage ?? shown;
        progress.report({ ...(value.message ? { message: value.message } : {}), increment: Math.max(0, percentage - shown) });
        shown = Math.max(shown, percentage);
      });
      const cancel = token.onCancellationRequested(() => source.cancel());
      try {
        const result = await this.client.sendRequest(reportRequest, { uris: [this.uri.toString()], workDoneToken }, source.token);
        if (source.token.isCancellationRequested) return;
        this.lastResult = result;
        if (result.problems.length && (first || !result.report)) void vscode.window.showWarningMessage(`Tunekit: ${result.problems.join(' ')}`);
        this.post();
      } catch (err) {
        if (!source.token.isCancellationRequested) void this.panel.webview.postMessage({ type: 'error', message: `The report failed: ${err instanceof Error ? err.message : String(err)}` });
      } finally {
        sub.dispose();
        cancel.dispose();
      }
    };
    await vscode.window.withProgress(
      big ? { location: vscode.ProgressLocation.Notification, title, cancellable: true } : { location: vscode.ProgressLocation.Window, title },
      (progress, token) => run(progress, token),
    );
  }

  private async isBig(): Promise<boolean> {
    if (vscode.workspace.textDocuments.some((d) => d.uri.toString() === this.uri.toString())) {
      const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === this.uri.toString())!;
      return doc.getText().length >= NOTIFY_BYTES;
    }
    try {
      return (await vscode.workspace.fs.stat(this.uri)).size >= NOTIFY_BYTES;
    } catch {
      return false;
    }
  }

  private post(): void {
    if (!this.ready || !this.lastResult) return;
    if (this.lastResult.report) void this.panel.webview.postMessage({ type: 'report', report: this.lastResult.report });
    else if (!this.lastResult.cancelled) void this.panel.webview.postMessage({ type: 'error', message: this.lastResult.problems.join(' ') || 'No report for this file.' });
  }

  private disposed = false;

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    ReportPanel.panels.delete(this.uri.toString());
    if (this.timer) clearTimeout(this.timer);
    this.inFlight?.cancel();
    for (const d of this.disposables) d.dispose();
    this.panel.dispose();
  }
}

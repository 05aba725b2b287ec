import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { samplePreviewRequest, type SamplePreview, type SamplePreviewParams } from '../../../server/src/protocol/preview';
import { mediaRoots, setupWebview, toWebviewMedia } from './resources';

/**
 * The sample preview: one panel beside the editor showing the record under the cursor as a chat.
 * It follows the cursor (unless turned off), and refreshes when the document or its diagnostics
 * change, so a fixed image path shows up at once.
 */
export class SamplePreviewPanel implements vscode.Disposable {
  private static current: SamplePreviewPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private uri: vscode.Uri | undefined;
  private record = 0;
  private records = 0;
  private follow = true;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private generation = 0;

  static show(context: vscode.ExtensionContext, client: LanguageClient, uri: vscode.Uri, at: { record?: number; position?: vscode.Position }): void {
    if (!SamplePreviewPanel.current) SamplePreviewPanel.current = new SamplePreviewPanel(context, client);
    const p = SamplePreviewPanel.current;
    p.panel.reveal(vscode.ViewColumn.Beside, true);
    void p.load(uri, at);
  }

  private readonly panel: vscode.WebviewPanel;

  private constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly client: LanguageClient,
  ) {
    this.panel = vscode.window.createWebviewPanel('tunekit.samplePreview', 'Sample Preview', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, { enableScripts: true, localResourceRoots: [] });
    this.setup();
    this.disposables.push(
      this.panel.onDidDispose(() => this.dispose()),
      this.panel.webview.onDidReceiveMessage((m: { type: string; delta?: number; follow?: boolean }) => {
        if (m.type === 'go' && typeof m.delta === 'number') void this.step(m.delta);
        if (m.type === 'follow') this.follow = m.follow === true;
        if (m.type === 'ready') void this.reload();
      }),
      vscode.window.onDidChangeTextEditorSelection((e) => {
        if (!this.follow || e.textEditor.document.uri.toString() !== this.uri?.toString()) return;
        this.schedule(() => this.load(e.textEditor.document.uri, { position: e.selections[0]!.active }));
      }),
      vscode.window.onDidChangeActiveTextEditor((editor) => {
        if (!this.follow || !editor || !['jsonl', 'json'].includes(editor.document.languageId)) return;
        this.schedule(() => this.load(editor.document.uri, { position: editor.selection.active }));
      }),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document.uri.toString() === this.uri?.toString()) this.schedule(() => this.reload());
      }),
      vscode.languages.onDidChangeDiagnostics((e) => {
        if (this.uri && e.uris.some((u) => u.toString() === this.uri!.toString())) this.schedule(() => this.reload());
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('tunekit.mediaRoot')) {
          this.setup();
        }
      }),
    );
  }

  private setup(): void {
    setupWebview(this.panel, this.context.extensionUri, mediaRoots(this.uri), 'sample', 'Sample Preview');
  }

  private schedule(run: () => Promise<unknown>): void {
    // Cursor moves and keystrokes come in bursts: ask the server once they settle.
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void run(), 120);
  }

  private reload(): Promise<unknown> {
    return this.uri ? this.load(this.uri, { record: this.record }) : Promise.resolve();
  }

  private async step(delta: number): Promise<void> {
    if (!this.uri) return;
    const next = Math.max(0, Math.min(this.records - 1, this.record + delta));
    const preview = await this.load(this.uri, { record: next });
    // Move the editor to the record too, so the cursor and the preview agree.
    const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === this.uri?.toString());
    if (editor && preview) {
      const pos = new vscode.Position(preview.line, 0);
      const followed = this.follow;
      this.follow = false;
      editor.selection = new vscode.Selection(pos, pos);
      editor.revealRange(new vscode.Range(pos, pos), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
      setTimeout(() => (this.follow = followed), 300);
    }
  }

  private async load(uri: vscode.Uri, at: { record?: number; position?: vscode.Position }): Promise<SamplePreview | null> {
    const generation = ++this.generation;
    if (this.uri?.toString() !== uri.toString()) {
      this.uri = uri;
      this.setup();
    }
    const params: SamplePreviewParams = { uri: uri.toString() };
    if (at.record !== undefined) params.record = at.record;
    else if (at.position) params.position = { line: at.position.line, character: at.position.character };
    let preview: SamplePreview | null;
    try {
      preview = await this.client.sendRequest(samplePreviewRequest, params);
    } catch (err) {
      void this.panel.webview.postMessage({ type: 'error', message: `The preview failed: ${err instanceof Error ? err.message : String(err)}` });
      return null;
    }
    if (generation !== this.generation) return preview;
    if (!preview) {
      void this.panel.webview.postMessage({ type: 'empty', message: `${vscode.workspace.asRelativePath(uri)} is not an open dataset.` });
      return null;
    }
    this.record = preview.record;
    this.records = preview.records;
    const roots = mediaRoots(uri);
    const webview = this.panel.webview;
    const turns = preview.turns.map((t) => ({ ...t, parts: t.parts.map((p) => (p.type === 'media' ? { type: 'media', media: toWebviewMedia(webview, roots, p.media) } : p)) }));
    // The file's name is in the webview's toolbar; tab titles stay short (and distinct from the editor's).
    this.panel.title = `Sample ${preview.record + 1} of ${preview.records}`;
    void webview.postMessage({ type: 'sample', sample: { ...preview, turns, file: vscode.workspace.asRelativePath(uri) } });
    return preview;
  }

  dispose(): void {
    if (SamplePreviewPanel.current === this) SamplePreviewPanel.current = undefined;
    if (this.timer) clearTimeout(this.timer);
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }
}

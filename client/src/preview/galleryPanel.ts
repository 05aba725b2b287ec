import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { galleryRequest, type GalleryFilter } from '../../../server/src/protocol/preview';
import { mediaRoots, setupWebview, toWebviewMedia } from './resources';

/** Tiles per page: one page is all the server reads, whatever the file's size. */
export const GALLERY_PAGE_SIZE = 60;

/**
 * The image gallery of one dataset: a paged grid of every image with its record number and the
 * first words of its question; a filter for records with media problems; a click reveals the
 * record in the editor.
 */
export class GalleryPanel implements vscode.Disposable {
  private static readonly panels = new Map<string, GalleryPanel>();
  private readonly panel: vscode.WebviewPanel;
  private readonly disposables: vscode.Disposable[] = [];
  private offset = 0;
  private filter: GalleryFilter = 'all';
  private timer: ReturnType<typeof setTimeout> | undefined;

  static show(context: vscode.ExtensionContext, client: LanguageClient, uri: vscode.Uri): void {
    const key = uri.toString();
    const existing = GalleryPanel.panels.get(key);
    if (existing) {
      existing.panel.reveal();
      return;
    }
    GalleryPanel.panels.set(key, new GalleryPanel(context, client, uri));
  }

  private constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly client: LanguageClient,
    private readonly uri: vscode.Uri,
  ) {
    this.panel = vscode.window.createWebviewPanel('tunekit.gallery', 'Image Gallery', vscode.ViewColumn.Active, {
      enableScripts: true,
      retainContextWhenHidden: false,
      localResourceRoots: [],
    });
    this.setup();
    this.disposables.push(
      this.panel.onDidDispose(() => this.dispose()),
      this.panel.webview.onDidReceiveMessage((m: { type: string; offset?: number; filter?: GalleryFilter; record?: number; line?: number }) => {
        if (m.type === 'ready') void this.load();
        if (m.type === 'page') {
          this.offset = Math.max(0, m.offset ?? 0);
          if (m.filter === 'all' || m.filter === 'problems') this.filter = m.filter;
          void this.load();
        }
        if (m.type === 'reveal' && typeof m.line === 'number') void this.reveal(m.line);
      }),
      vscode.languages.onDidChangeDiagnostics((e) => {
        if (e.uris.some((u) => u.toString() === this.uri.toString())) this.schedule();
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('tunekit.mediaRoot')) this.setup();
      }),
    );
  }

  private setup(): void {
    setupWebview(this.panel, this.context.extensionUri, mediaRoots(this.uri), 'gallery', 'Image Gallery');
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.load(), 300);
  }

  private async load(): Promise<void> {
    try {
      const page = await this.client.sendRequest(galleryRequest, { uri: this.uri.toString(), offset: this.offset, limit: GALLERY_PAGE_SIZE, filter: this.filter });
      if (!page) {
        void this.panel.webview.postMessage({ type: 'empty', message: `${vscode.workspace.asRelativePath(this.uri)} is not an open dataset: open it in an editor first.` });
        return;
      }
      const roots = mediaRoots(this.uri);
      const items = page.items.map((i) => ({ ...i, media: toWebviewMedia(this.panel.webview, roots, i.media) }));
      void this.panel.webview.postMessage({ type: 'page', page: { ...page, items, pageSize: GALLERY_PAGE_SIZE, filter: this.filter, file: vscode.workspace.asRelativePath(this.uri) } });
    } catch (err) {
      void this.panel.webview.postMessage({ type: 'error', message: `The gallery failed: ${err instanceof Error ? err.message : String(err)}` });
    }
  }

  private async reveal(line: number): Promise<void> {
    const document = await vscode.workspace.openTextDocument(this.uri);
    const editor = await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.One, preserveFocus: false });
    const pos = new vscode.Position(line, 0);
    editor.selection = new vscode.Selection(pos, pos);
    editor.revealRange(new vscode.Range(pos, pos), vscode.TextEditorRevealType.InCenter);
  }

  dispose(): void {
    GalleryPanel.panels.delete(this.uri.toString());
    if (this.timer) clearTimeout(this.timer);
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }
}

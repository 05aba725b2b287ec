import * as path from 'node:path';
import * as vscode from 'vscode';
import type { PreviewMedia } from '../../../server/src/protocol/preview';
import { galleryHtml, makeNonce, samplePreviewHtml } from './html';

/**
 * What the webviews may load: the workspace folders, the configured media roots and the
 * extension's own `media/` assets. Media outside these are described but not shown.
 */
export function mediaRoots(resource: vscode.Uri | undefined): vscode.Uri[] {
  const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri);
  const roots = [...folders];
  const configured = vscode.workspace.getConfiguration('tunekit', resource).get<string>('mediaRoot', '').trim();
  if (configured) {
    const base = (resource && vscode.workspace.getWorkspaceFolder(resource)?.uri) ?? folders[0];
    if (path.isAbsolute(configured)) roots.push(vscode.Uri.file(configured));
    else if (base) roots.push(vscode.Uri.joinPath(base, configured));
  }
  return roots;
}

export function isUnder(file: string, roots: readonly vscode.Uri[]): boolean {
  return roots.some((r) => {
    if (r.scheme !== 'file') return false;
    const rel = path.relative(r.fsPath, file);
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
  });
}

/** A medium as the webview gets it: with a webview URI to load, or the reason it is not shown. */
export interface WebviewMedia extends PreviewMedia {
  src?: string;
  blocked?: string;
}

export function toWebviewMedia(webview: vscode.Webview, roots: readonly vscode.Uri[], media: PreviewMedia): WebviewMedia {
  if (!media.file) return media;
  if (!isUnder(media.file, roots)) return { ...media, blocked: 'outside the workspace folders and tunekit.mediaRoot, so the preview does not load it' };
  return { ...media, src: webview.asWebviewUri(vscode.Uri.file(media.file)).toString() };
}

/** Sets a panel's options and HTML: scripts on, resources limited to the assets and the media roots. */
export function setupWebview(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, roots: readonly vscode.Uri[], kind: 'sample' | 'gallery', title: string): void {
  const assets = vscode.Uri.joinPath(extensionUri, 'media');
  panel.webview.options = { enableScripts: true, localResourceRoots: [assets, ...roots] };
  const input = {
    cspSource: panel.webview.cspSource,
    nonce: makeNonce(),
    scriptUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(assets, kind === 'sample' ? 'samplePreview.js' : 'gallery.js')).toString(),
    styleUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(assets, 'preview.css')).toString(),
    title,
  };
  panel.webview.html = kind === 'sample' ? samplePreviewHtml(input) : galleryHtml(input);
}

import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { GalleryPanel } from './galleryPanel';
import { SamplePreviewPanel } from './samplePanel';

/**
 * Commands `tunekit.previewSample` (command palette, editor title, CodeLens with [uri, record])
 * and `tunekit.openGallery`.
 */
export function registerPreview(context: vscode.ExtensionContext, client: LanguageClient): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('tunekit.previewSample', (uriArg?: unknown, recordArg?: unknown) => {
      const editor = vscode.window.activeTextEditor;
      const uri = typeof uriArg === 'string' ? vscode.Uri.parse(uriArg) : uriArg instanceof vscode.Uri ? uriArg : editor?.document.uri;
      if (!uri) {
        void vscode.window.showInformationMessage('Open a dataset (.jsonl or .json) to preview its samples.');
        return;
      }
      if (typeof recordArg === 'number') SamplePreviewPanel.show(context, client, uri, { record: recordArg });
      else SamplePreviewPanel.show(context, client, uri, editor && editor.document.uri.toString() === uri.toString() ? { position: editor.selection.active } : { record: 0 });
    }),
    vscode.commands.registerCommand('tunekit.openGallery', (uriArg?: unknown) => {
      const uri = uriArg instanceof vscode.Uri ? uriArg : typeof uriArg === 'string' ? vscode.Uri.parse(uriArg) : vscode.window.activeTextEditor?.document.uri;
      if (!uri) {
        void vscode.window.showInformationMessage('Open a dataset (.jsonl or .json) to see its images.');
        return;
      }
      GalleryPanel.show(context, client, uri);
    }),
  );
}

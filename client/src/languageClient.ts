import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';

/**
 * The Tunekit language client. JSON documents are all sent to the server because only it knows
 * which are datasets (content sniffing, `tunekit.datasetFiles`); it answers an empty report for
 * the rest.
 */
export function createLanguageClient(context: vscode.ExtensionContext): LanguageClient {
  const module = context.asAbsolutePath('server/out/server.js');
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6009'] } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'jsonl' },
      { scheme: 'untitled', language: 'jsonl' },
      { scheme: 'file', language: 'json' },
      { scheme: 'untitled', language: 'json' },
      // Run configs: diagnostics, completion and hover from the run config schema.
      { scheme: 'file', pattern: '**/*.tunekit.yaml' },
    ],
    // The client decides when to pull, so the server needs no debounce timers.
    diagnosticPullOptions: { onChange: true, onSave: true },
    synchronize: { configurationSection: 'tunekit' },
  };
  return new LanguageClient('tunekit', 'Tunekit', serverOptions, clientOptions);
}

/** Commands that act on the language server itself. */
export function registerServerCommands(context: vscode.ExtensionContext, client: LanguageClient): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('tunekit.restartServer', async () => {
      try {
        await client.restart();
      } catch (err) {
        client.error('Restarting the Tunekit language server failed', err, 'force');
      }
    }),
  );
}

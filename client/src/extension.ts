import type * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { createLanguageClient, registerServerCommands } from './languageClient';
import { registerStatus } from './status';
import { registerLargeFiles } from './largeFiles';
import { registerPreview } from './preview';
import { registerReport } from './report';
import { registerRuns } from './runs';

/** What `activate` returns: handles for other extensions and for the @vscode/test-electron suite. */
export interface TunekitApi {
  client: LanguageClient;
}

let client: LanguageClient | undefined;

/** Starts the language client and registers the client features; nothing else. */
export async function activate(context: vscode.ExtensionContext): Promise<TunekitApi> {
  client = createLanguageClient(context);
  registerServerCommands(context, client);
  registerStatus(context, client);
  registerLargeFiles(context, client);
  registerPreview(context, client);
  registerReport(context, client);
  registerRuns(context, client);
  try {
    await client.start();
  } catch (err) {
    // Keep the extension (and its restart command) alive; the status item shows the stopped server.
    client.error('The Tunekit language server failed to start', err, 'force');
  }
  return { client };
}

export async function deactivate(): Promise<void> {
  await client?.stop();
  client = undefined;
}

import { createConnection, Emitter, ProposedFeatures, TextDocuments, TextDocumentSyncKind, type ServerCapabilities } from 'vscode-languageserver/node';
import { mergeCapabilities, type CommandHandler, type Feature, type FeatureContext, type FeatureEmitters } from './features/context';
import { diagnosticsFeature } from './features/diagnostics';
import { statusFeature } from './features/status';
import { mediaFeature } from './features/media';
import { hoverFeature } from './features/hover';
import { previewFeature } from './features/preview';
import { codeLensFeature } from './features/codeLens';
import { codeActionsFeature } from './features/codeActions';
import { DocumentStore } from './features/store';
import { largeFilesFeature } from './features/largeFiles';
import { reportFeature } from './features/report';
import { runConfigFeature } from './features/runConfig';
import { lineDocuments } from './features/lineDocument';

/**
 * The Tunekit language server: wiring only. Features live in ./features (see context.ts for how
 * to add one); validation logic lives in ./core.
 */
const FEATURES: readonly Feature[] = [mediaFeature, diagnosticsFeature, statusFeature, hoverFeature, previewFeature, codeLensFeature, codeActionsFeature, largeFilesFeature, reportFeature, runConfigFeature];

const connection = createConnection(ProposedFeatures.all);
// Big documents are kept as arrays of lines, so keystrokes in a 40 MB dataset stay cheap (lineDocument.ts).
const documents = new TextDocuments(lineDocuments);
const client: FeatureContext['client'] = { capabilities: {}, workspaceFolders: [] };
const emitters: FeatureEmitters = { initialized: new Emitter(), didChangeConfiguration: new Emitter(), didChangeWatchedFiles: new Emitter() };
const commands = new Map<string, CommandHandler>();

const ctx: FeatureContext = {
  connection,
  documents,
  store: new DocumentStore(connection, documents, client),
  client,
  events: {
    onInitialized: emitters.initialized.event,
    onDidChangeConfiguration: emitters.didChangeConfiguration.event,
    onDidChangeWatchedFiles: emitters.didChangeWatchedFiles.event,
  },
  onCommand: (id, handler) => void commands.set(id, handler),
};

for (const feature of FEATURES) {
  try {
    feature.register(ctx);
  } catch (err) {
    connection.console.error(`Tunekit: feature ${feature.name} failed to register: ${String(err)}`);
  }
}

connection.onInitialize((params) => {
  client.capabilities = params.capabilities;
  client.workspaceFolders = params.workspaceFolders ?? (params.rootUri ? [{ uri: params.rootUri, name: 'root' }] : []);
  const fragments: ServerCapabilities[] = [{ textDocumentSync: TextDocumentSyncKind.Incremental }];
  for (const f of FEATURES) {
    if (f.capabilities) fragments.push(typeof f.capabilities === 'function' ? f.capabilities(params.capabilities) : f.capabilities);
  }
  if (commands.size) fragments.push({ executeCommandProvider: { commands: [...commands.keys()] } });
  return { capabilities: mergeCapabilities(fragments), serverInfo: { name: 'tunekit' } };
});
connection.onInitialized(() => {
  emitters.initialized.fire();
});
connection.onDidChangeConfiguration((p) => {
  emitters.didChangeConfiguration.fire(p);
});
connection.onDidChangeWatchedFiles((p) => {
  emitters.didChangeWatchedFiles.fire(p);
});
connection.onExecuteCommand(async (p) => {
  const handler = commands.get(p.command);
  if (!handler) return null;
  try {
    return (await handler(p.arguments ?? [])) ?? null;
  } catch (err) {
    connection.console.error(`Tunekit: command ${p.command} failed: ${String(err)}`);
    return null;
  }
});

documents.listen(connection);
connection.listen();

import * as assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  ConfigurationRequest,
  createProtocolConnection,
  DiagnosticRefreshRequest,
  DidChangeConfigurationNotification,
  DidChangeTextDocumentNotification,
  DidCloseTextDocumentNotification,
  DidOpenTextDocumentNotification,
  DocumentDiagnosticReportKind,
  DocumentDiagnosticRequest,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  LogMessageNotification,
  PublishDiagnosticsNotification,
  ShutdownRequest,
  WorkDoneProgress,
  WorkDoneProgressCreateRequest,
  StreamMessageReader,
  StreamMessageWriter,
  type ClientCapabilities,
  type Diagnostic,
  type DocumentDiagnosticReport,
  type InitializeResult,
  type ProtocolConnection,
  type TextDocumentContentChangeEvent,
} from 'vscode-languageserver-protocol/node';
import { statsRequest, statusNotification, type StatsResult, type StatusParams } from '../../server/src/protocol/status';
import { ROOT } from './fixtures';

/** The built server the extension ships (npm test builds it first). */
export const SERVER_JS = path.join(ROOT, 'server', 'out', 'server.js');

/** What a pull-diagnostics client such as VS Code announces. */
export const CLIENT_CAPABILITIES: ClientCapabilities = {
  general: { positionEncodings: ['utf-16'] },
  textDocument: {
    synchronization: { dynamicRegistration: false, didSave: true },
    diagnostic: { dynamicRegistration: false, relatedDocumentSupport: false },
  },
  workspace: {
    configuration: true,
    workspaceFolders: true,
    didChangeConfiguration: { dynamicRegistration: false },
    diagnostics: { refreshSupport: true },
  },
};

export interface StartOptions {
  /** Workspace folder (defaults to the repository root). */
  rootPath?: string;
  /** The `tunekit` section answered to workspace/configuration; change it with `changeSettings`. */
  settings?: Record<string, unknown>;
  capabilities?: ClientCapabilities;
}

/**
 * A real LSP client over the server's stdio, for tests: it answers workspace/configuration from
 * `settings`, records refresh requests, status notifications and log messages, and stops the
 * server by shutdown/exit (then by pid if it lingers).
 */
export class LspClient {
  settings: Record<string, unknown>;
  readonly logs: string[] = [];
  readonly statuses: StatusParams[] = [];
  /** Pushed diagnostics (textDocument/publishDiagnostics) by uri, the latest set per uri. */
  readonly published = new Map<string, Diagnostic[]>();
  /** Work-done progress reports ($/progress), in arrival order. */
  readonly progress: { token: string | number; value: unknown }[] = [];
  /** Tokens of work-done progress the server created (window/workDoneProgress/create). */
  readonly createdProgress: (string | number)[] = [];
  refreshCount = 0;
  initializeResult!: InitializeResult;
  private readonly versions = new Map<string, number>();
  private readonly texts = new Map<string, string>();
  private readonly waiters: { check: () => boolean; resolve: () => void }[] = [];
  private stderr = '';

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly connection: ProtocolConnection,
    settings: Record<string, unknown>,
  ) {
    this.settings = settings;
  }

  static async start(opts: StartOptions = {}): Promise<LspClient> {
    assert.ok(fs.existsSync(SERVER_JS), `${SERVER_JS} is missing: run npm run build`);
    const child = spawn(process.execPath, [SERVER_JS, '--stdio'], { stdio: 'pipe' });
    const connection = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
    const client = new LspClient(child, connection, opts.settings ?? {});
    child.stderr.on('data', (d: Buffer) => (client.stderr += d.toString()));
    connection.onRequest(ConfigurationRequest.type, (params) => params.items.map((item) => (item.section === 'tunekit' ? client.settings : null)));
    connection.onRequest(DiagnosticRefreshRequest.type, () => {
      client.refreshCount++;
      client.wake();
    });
    connection.onNotification(LogMessageNotification.type, (p) => {
      client.logs.push(p.message);
    });
    connection.onNotification(statusNotification, (p) => {
      client.statuses.push(p);
      client.wake();
    });
    connection.onNotification(PublishDiagnosticsNotification.type, (p) => {
      client.published.set(p.uri, p.diagnostics);
      client.wake();
    });
    connection.onRequest(WorkDoneProgressCreateRequest.type, (p) => {
      client.createdProgress.push(p.token);
      connection.onProgress(WorkDoneProgress.type, p.token, (value) => {
        client.progress.push({ token: p.token, value });
        client.wake();
      });
      client.wake();
    });
    connection.onProgress(WorkDoneProgress.type, 'tunekit-test-progress', (value) => {
      client.progress.push({ token: 'tunekit-test-progress', value });
      client.wake();
    });
    connection.listen();
    const rootPath = opts.rootPath ?? ROOT;
    const rootUri = pathToFileURL(rootPath).href;
    client.initializeResult = await connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri,
      workspaceFolders: [{ uri: rootUri, name: path.basename(rootPath) }],
      capabilities: opts.capabilities ?? CLIENT_CAPABILITIES,
    });
    await connection.sendNotification(InitializedNotification.type, {});
    return client;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Server stderr and log messages, to explain a failing assertion. */
  get transcript(): string {
    return [...this.logs, this.stderr].join('\n');
  }

  async open(uri: string, text: string, languageId = uri.endsWith('.json') ? 'json' : 'jsonl'): Promise<void> {
    this.versions.set(uri, 1);
    this.texts.set(uri, text);
    await this.connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId, version: 1, text } });
  }

  /** Sends incremental changes (applied in order) and keeps a local copy of the text. */
  async change(uri: string, changes: TextDocumentContentChangeEvent[]): Promise<void> {
    const version = (this.versions.get(uri) ?? 0) + 1;
    this.versions.set(uri, version);
    let text = this.texts.get(uri) ?? '';
    for (const c of changes) text = 'range' in c ? applyRangeChange(text, c) : c.text;
    this.texts.set(uri, text);
    await this.connection.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version }, contentChanges: changes });
  }

  /** Replaces line `line` (0-based, without its line break) as an incremental change. */
  async replaceLine(uri: string, line: number, newText: string): Promise<void> {
    const old = (this.texts.get(uri) ?? '').split('\n')[line] ?? '';
    const end = old.endsWith('\r') ? old.length - 1 : old.length;
    await this.change(uri, [{ range: { start: { line, character: 0 }, end: { line, character: end } }, text: newText }]);
  }

  async close(uri: string): Promise<void> {
    this.versions.delete(uri);
    this.texts.delete(uri);
    await this.connection.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri } });
  }

  pull(uri: string, previousResultId?: string): Promise<DocumentDiagnosticReport> {
    return this.connection.sendRequest(DocumentDiagnosticRequest.type, {
      textDocument: { uri },
      ...(previousResultId ? { previousResultId } : {}),
    });
  }

  /** Pulls and expects a full report. */
  async diagnostics(uri: string): Promise<Diagnostic[]> {
    const report = await this.pull(uri);
    assert.equal(report.kind, DocumentDiagnosticReportKind.Full, 'expected a full diagnostic report');
    return report.kind === DocumentDiagnosticReportKind.Full ? report.items : [];
  }

  /** Any other request by method name (hover, code actions, ...), for feature and robustness tests. */
  request<R>(method: string, params: unknown): Promise<R> {
    return this.connection.sendRequest<R>(method, params);
  }

  /** True while the server process runs (robustness tests check it never dies). */
  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends any notification by method name (e.g. workspace/didChangeWatchedFiles, as the editor's file watcher would). */
  notify(method: string, params: unknown): Promise<void> {
    return this.connection.sendNotification(method, params);
  }

  stats(uri: string): Promise<StatsResult | null> {
    return this.connection.sendRequest(statsRequest, { uri });
  }

  /**
   * Replaces the settings and notifies the server the way vscode-languageclient does (payload
   * null: the server asks again), or with the settings in the payload (`push`, for clients
   * without workspace/configuration); resolves when the server asks the client to refresh.
   */
  async changeSettings(settings: Record<string, unknown>, push = false): Promise<void> {
    const before = this.refreshCount;
    this.settings = settings;
    await this.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: push ? { tunekit: settings } : null });
    await this.until(() => this.refreshCount > before, 'a workspace/diagnostic/refresh request');
  }

  /** Resolves once `check` holds (re-checked on every server message the client records). */
  until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}\n${this.transcript}`)), timeoutMs);
      this.waiters.push({
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** Shuts the server down politely, then by pid if it has not exited. */
  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) resolve();
      else this.child.once('exit', () => resolve());
    });
    try {
      await withTimeout(this.connection.sendRequest(ShutdownRequest.type), 5000);
      await this.connection.sendNotification(ExitNotification.type);
    } catch {
      // The server is already gone or stuck; it is killed below.
    }
    await withTimeout(exited, 5000).catch(() => undefined);
    if (this.child.exitCode === null && this.child.signalCode === null && this.child.pid) process.kill(this.child.pid, 'SIGKILL');
    this.connection.dispose();
  }

  private wake(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (w.check()) {
        this.waiters.splice(i, 1);
        w.resolve();
      }
    }
  }
}

/** A `file:` URI for a path (documents need not exist on disk). */
export function fileUri(p: string): string {
  return pathToFileURL(p).href;
}

/** `L:C-L:C code` (1-based, UTF-16 columns), the way fixtures write diagnostics. */
export function brief(d: Diagnostic): string {
  const r = d.range;
  return `${r.start.line + 1}:${r.start.character + 1}-${r.end.line + 1}:${r.end.character + 1} ${String(d.code)}`;
}

function applyRangeChange(text: string, c: { range: { start: { line: number; character: number }; end: { line: number; character: number } }; text: string }): string {
  const offset = (p: { line: number; character: number }): number => {
    let at = 0;
    for (let l = 0; l < p.line; l++) {
      const nl = text.indexOf('\n', at);
      if (nl < 0) return text.length;
      at = nl + 1;
    }
    return at + p.character;
  };
  return text.slice(0, offset(c.range.start)) + c.text + text.slice(offset(c.range.end));
}

/** Settles like `p`, or rejects after `ms` (naming `what` when given): a hang detector, not a timing assertion. */
export function withTimeout<T>(p: Promise<T>, ms: number, what?: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(what ? `${what} did not answer within ${ms} ms` : `timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

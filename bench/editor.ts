import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  ConfigurationRequest,
  createProtocolConnection,
  DiagnosticRefreshRequest,
  DidChangeTextDocumentNotification,
  DidCloseTextDocumentNotification,
  DidOpenTextDocumentNotification,
  DocumentDiagnosticReportKind,
  DocumentDiagnosticRequest,
  ExitNotification,
  HoverRequest,
  InitializedNotification,
  InitializeRequest,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  type DocumentDiagnosticReport,
  type InitializeResult,
  type ProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import { serverMemoryRequest, type ServerMemoryResult } from '../server/src/protocol/largeFiles';
import { png } from '../test/helpers/generate';

/**
 * The editor figures, measured on the real built server over stdio the way VS Code drives it:
 * open a document (didOpen), pull diagnostics (textDocument/diagnostic), edit one character
 * (incremental didChange) and pull again, hover on an image path.
 */

export interface ServerHandle {
  connection: ProtocolConnection;
  capabilities: InitializeResult['capabilities'];
  /** workspace/diagnostic/refresh requests received (the server asks for a new pull when media probes finish). */
  refreshes: number;
  /** Resolves at the next refresh request, or after `ms`. */
  nextRefresh(ms: number): Promise<boolean>;
  stop(): Promise<void>;
}

export async function startServer(root: string, serverJs: string, settings: Record<string, unknown> = {}): Promise<ServerHandle> {
  // --expose-gc so the memory figure is taken after a full collection.
  // TUNEKIT_BENCH_SERVER_ARGS: extra node flags for the server (e.g. --cpu-prof) when investigating a figure.
  const extra = (process.env['TUNEKIT_BENCH_SERVER_ARGS'] ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, ['--expose-gc', ...extra, serverJs, '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const connection = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  connection.onRequest(ConfigurationRequest.type, (params) => params.items.map((item) => (item.section === 'tunekit' ? settings : null)));
  const waiters: ((refreshed: boolean) => void)[] = [];
  let refreshes = 0;
  connection.onRequest(DiagnosticRefreshRequest.type, () => {
    refreshes++;
    for (const w of waiters.splice(0)) w(true);
  });
  connection.listen();
  const rootUri = pathToFileURL(root).href;
  const init = await connection.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri,
    workspaceFolders: [{ uri: rootUri, name: path.basename(root) }],
    capabilities: {
      general: { positionEncodings: ['utf-16'] },
      textDocument: { synchronization: { dynamicRegistration: false }, diagnostic: { dynamicRegistration: false }, hover: { contentFormat: ['markdown'] } },
      workspace: { configuration: true, workspaceFolders: true, diagnostics: { refreshSupport: true } },
    },
  });
  await connection.sendNotification(InitializedNotification.type, {});
  return {
    connection,
    capabilities: init.capabilities,
    get refreshes() {
      return refreshes;
    },
    nextRefresh(ms: number) {
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), ms);
        waiters.push((r) => {
          clearTimeout(timer);
          resolve(r);
        });
      });
    },
    async stop() {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      try {
        await Promise.race([connection.sendRequest(ShutdownRequest.type), new Promise((r) => setTimeout(r, 3000))]);
        await connection.sendNotification(ExitNotification.type);
      } catch {
        // The server may already be gone.
      }
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      connection.dispose();
    },
  };
}

export function memory(server: ServerHandle): Promise<ServerMemoryResult> {
  return server.connection.sendRequest(serverMemoryRequest, { gc: true });
}

export async function pull(server: ServerHandle, uri: string, previousResultId?: string): Promise<DocumentDiagnosticReport> {
  return server.connection.sendRequest(DocumentDiagnosticRequest.type, { textDocument: { uri }, ...(previousResultId ? { previousResultId } : {}) });
}

export interface EditorFigures {
  /** didOpen → the first diagnostics (media probes may still be running). */
  firstDiagnosticsMs: number;
  /** didOpen → the complete diagnostics: pulled again after each refresh the finished media probes trigger. */
  openAndValidateMs: number;
  diagnostics: number;
  heapBefore: number;
  heapAfter: number;
  edits: number[];
  hovers: number[] | undefined;
}

/** A position inside the answer text of record `line` (a letter that stays a letter when replaced). */
function editPosition(text: string, lineStart: number): number {
  const at = text.indexOf('"value":"', text.indexOf('"from":"gpt"', lineStart));
  return at + 12;
}

/**
 * Opens `file` as a document, validates it, then makes `edits` one-character edits at spread-out
 * records, each followed by a pull, and hovers `hovers` times on image paths.
 */
export async function measureEditor(server: ServerHandle, file: string, edits: number, hovers: number): Promise<EditorFigures> {
  const uri = pathToFileURL(file).href;
  let text = fs.readFileSync(file, 'utf8');
  const heapBefore = (await memory(server)).heapUsed;
  let t = performance.now();
  await server.connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'jsonl', version: 1, text } });
  let report = await pull(server, uri);
  const firstDiagnosticsMs = performance.now() - t;
  // Media probes started by the first validation end in a refresh request; VS Code pulls again then.
  let openAndValidateMs = firstDiagnosticsMs;
  while (await server.nextRefresh(3000)) {
    report = await pull(server, uri);
    openAndValidateMs = performance.now() - t;
  }
  const diagnostics = report.kind === DocumentDiagnosticReportKind.Full ? report.items.length : 0;
  const heapAfter = (await memory(server)).heapUsed;

  // Line starts, to address records by line.
  const lineStarts: number[] = [0];
  for (let i = text.indexOf('\n'); i >= 0 && i < text.length - 1; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  const times: number[] = [];
  let version = 1;
  let resultId = report.kind === DocumentDiagnosticReportKind.Full ? report.resultId : undefined;
  for (let k = 0; k < edits; k++) {
    const line = Math.floor(((k * 7919) % lineStarts.length) / 1) % lineStarts.length;
    const start = lineStarts[line]!;
    const at = editPosition(text, start);
    if (at < start || at > (lineStarts[line + 1] ?? text.length)) continue;
    const old = text[at]!;
    const replacement = old === 'a' ? 'e' : 'a';
    const character = at - start;
    text = text.slice(0, at) + replacement + text.slice(at + 1);
    version++;
    t = performance.now();
    await server.connection.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version },
      contentChanges: [{ range: { start: { line, character }, end: { line, character: character + 1 } }, text: replacement }],
    });
    report = await pull(server, uri, resultId);
    times.push(performance.now() - t);
    if (report.kind === DocumentDiagnosticReportKind.Full) resultId = report.resultId;
  }

  let hoverTimes: number[] | undefined;
  if (server.capabilities.hoverProvider) {
    hoverTimes = [];
    for (let k = 0; k < hovers; k++) {
      const line = (k * 104729 + 13) % lineStarts.length;
      const start = lineStarts[line]!;
      const at = text.indexOf('"image":"', start) + 12;
      t = performance.now();
      const hover = await server.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line, character: at - start } });
      hoverTimes.push(performance.now() - t);
      const value = hover && typeof hover.contents === 'object' && 'value' in hover.contents ? hover.contents.value : '';
      if (k === 0 && !/\d+\s*[×x]\s*\d+/.test(value)) throw new Error(`the hover on line ${line + 1} does not show an image: ${value.slice(0, 300)}`);
    }
  }
  return { firstDiagnosticsMs, openAndValidateMs, diagnostics, heapBefore, heapAfter, edits: times, hovers: hoverTimes };
}

/**
 * Hovers on images nobody has looked at yet: each sample writes a new PNG, opens a one-record
 * document that references it and hovers on the path at once, so the time includes reading the
 * image header (and validating one record), not a cached answer.
 */
export async function measureColdHovers(server: ServerHandle, dir: string, samples: number): Promise<number[]> {
  const coldDir = path.join(dir, 'cold-images');
  fs.rmSync(coldDir, { recursive: true, force: true });
  fs.mkdirSync(coldDir, { recursive: true });
  const times: number[] = [];
  for (let k = 0; k < samples; k++) {
    const name = `cold-images/${Date.now().toString(36)}-${k}.png`;
    fs.writeFileSync(path.join(dir, name), png(64 + k, 48, [k % 256, 90, 200]));
    const line = JSON.stringify({ id: `cold-${k}`, image: name, conversations: [{ from: 'human', value: '<image>\nWhat is shown?' }, { from: 'gpt', value: 'A blue square.' }] });
    const uri = pathToFileURL(path.join(dir, `cold-${k}.jsonl`)).href;
    await server.connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'jsonl', version: 1, text: line } });
    const character = line.indexOf(name) + 3;
    const t = performance.now();
    const hover = await server.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 0, character } });
    times.push(performance.now() - t);
    const value = hover && typeof hover.contents === 'object' && 'value' in hover.contents ? hover.contents.value : '';
    if (!/\b\d+\s*[×x]\s*48\b/.test(value)) throw new Error(`the hover on ${name} does not show the image size: ${value.slice(0, 300)}`);
    await server.connection.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri } });
  }
  fs.rmSync(coldDir, { recursive: true, force: true });
  return times;
}

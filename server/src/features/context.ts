/**
 * How language-server features plug in.
 *
 * A feature is one module under `server/src/features/` that exports a `Feature` object (and its
 * `register<Name>(ctx)` function):
 *
 *     export const hoverFeature: Feature = {
 *       name: 'hover',
 *       capabilities: { hoverProvider: true },   // merged into the initialize result
 *       register: registerHover,
 *     };
 *     export function registerHover(ctx: FeatureContext): void {
 *       ctx.connection.onHover((params) => guarded(ctx, 'hover', () => null, async () => { ... }));
 *     }
 *
 * Plugging it in is one import and one entry in `FEATURES` in `server/src/server.ts`. Features are
 * registered before the connection listens; `capabilities` (an object, or a function of the
 * client's capabilities) are merged into the initialize result: objects deeply, arrays
 * concatenated.
 *
 * Rules for features:
 * - Look documents up through `ctx.store` (settings, validator, cached result per document);
 *   never create a second `DatasetValidator` for an open document.
 * - Notifications that the connection lets only ONE handler own are fanned out here: use
 *   `ctx.events.onDidChangeConfiguration`, `ctx.events.onDidChangeWatchedFiles`,
 *   `ctx.events.onInitialized` and `ctx.onCommand(id, handler)` (the command is declared in the
 *   initialize result automatically), never `connection.onDidChangeConfiguration` & co directly.
 * - Logic lives in `core/` or `node/`; a feature converts and delegates. Handlers never throw:
 *   wrap them in `guarded` so failures are logged through the connection and a fallback returned.
 * - When something a validation depends on changes (a media file appears, a probe finishes), call
 *   `ctx.store.invalidate(...)` then `ctx.store.refresh()` so the client pulls again.
 */
import type { ClientCapabilities, Connection, ServerCapabilities, TextDocuments, WorkDoneProgressReporter, WorkspaceFolder } from 'vscode-languageserver/node';
import type { Emitter, Event } from 'vscode-languageserver/node';
import type { DidChangeConfigurationParams, DidChangeWatchedFilesParams } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { DocumentStore } from './store';

/** What the client told us at initialize (empty until then). */
export interface ClientInfo {
  capabilities: ClientCapabilities;
  workspaceFolders: WorkspaceFolder[];
}

export interface FeatureEvents {
  onInitialized: Event<void>;
  onDidChangeConfiguration: Event<DidChangeConfigurationParams>;
  onDidChangeWatchedFiles: Event<DidChangeWatchedFilesParams>;
}

export type CommandHandler = (args: unknown[]) => unknown;

export interface FeatureContext {
  connection: Connection;
  documents: TextDocuments<TextDocument>;
  store: DocumentStore;
  /** Client capabilities and workspace folders; read them when handling requests (they are set at initialize). */
  client: ClientInfo;
  events: FeatureEvents;
  /** Registers a `workspace/executeCommand` handler; the id is declared in the initialize result. */
  onCommand(id: string, handler: CommandHandler): void;
}

export interface Feature {
  /** Used in logs. */
  name: string;
  capabilities?: ServerCapabilities | ((client: ClientCapabilities) => ServerCapabilities);
  register(ctx: FeatureContext): void;
}

/** The emitters behind `FeatureEvents`; only server.ts fires them. */
export interface FeatureEmitters {
  initialized: Emitter<void>;
  didChangeConfiguration: Emitter<DidChangeConfigurationParams>;
  didChangeWatchedFiles: Emitter<DidChangeWatchedFilesParams>;
}

/**
 * Runs a handler body, logging any failure through the connection and returning `fallback()`
 * instead, so one bad request never takes the server (or the client's UI) down.
 */
export async function guarded<T>(ctx: Pick<FeatureContext, 'connection'>, what: string, fallback: () => T, body: () => T | Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    ctx.connection.console.error(`Tunekit ${what} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return fallback();
  }
}

/** Merges capability fragments: objects deeply, arrays concatenated (deduplicated), later scalars win. */
export function mergeCapabilities(fragments: readonly ServerCapabilities[]): ServerCapabilities {
  let out: Record<string, unknown> = {};
  for (const f of fragments) out = mergeValue(out, f) as Record<string, unknown>;
  return out as ServerCapabilities;
}

function mergeValue(a: unknown, b: unknown): unknown {
  if (Array.isArray(a) && Array.isArray(b)) return [...new Set([...(a as unknown[]), ...(b as unknown[])])];
  if (isPlainObject(a) && isPlainObject(b)) {
    const out: Record<string, unknown> = { ...a };
    for (const [k, v] of Object.entries(b)) out[k] = k in out ? mergeValue(out[k], v) : v;
    return out;
  }
  return b === undefined ? a : b;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Progress is reported at most this often (the client redraws a notification per report). */
const PROGRESS_INTERVAL_MS = 250;

/**
 * One progress bar over files read from disk: `fileProgress(name, index, count)` gives the
 * `onProgress` callback of file `index` of `count` ("name: 120 of 1075 MB"), throttled across files.
 */
export function diskProgress(progress: WorkDoneProgressReporter): (name: string, index: number, count: number) => (done: number, total: number) => void {
  let last = 0;
  return (name, index, count) => (done, total) => {
    const now = Date.now();
    if (now - last < PROGRESS_INTERVAL_MS) return;
    last = now;
    const share = total > 0 ? done / total : 1;
    progress.report(Math.floor(((index + share) / count) * 100), `${name}: ${(done / 1e6).toFixed(0)} of ${(total / 1e6).toFixed(0)} MB`);
  };
}

import * as path from 'node:path';
import { minimatch } from 'minimatch';
import type { CancellationToken, WorkDoneProgressReporter } from 'vscode-languageserver/node';
import type { Settings } from '../core/settings';
import { looksLikeJsonDataset, readHead } from '../node/files';
import { validateFile } from '../node/validateFile';
import { WorkerPool } from '../node/workerPool';
import {
  serverMemoryRequest,
  validateFileRequest,
  type FileValidation,
  type ServerMemoryResult,
  type ValidateFileParams,
  type ValidateFileResult,
} from '../protocol/largeFiles';
import type { ProblemCounts } from '../protocol/status';
import { diskProgress, guarded, type Feature, type FeatureContext } from './context';
import { toDiagnostic } from './diagnostics';
import { filePathOf } from './store';

/**
 * Validation from disk (`tunekit/validateFile`): for dataset files too big for the editor to sync
 * (over 50 MB) and for "Validate Workspace Datasets". Records are analysed in worker threads, so
 * the server keeps answering while a 1 GB file is read; diagnostics are pushed with
 * publishDiagnostics, since such files have no document to pull for.
 */

export const largeFilesFeature: Feature = {
  name: 'largeFiles',
  register: registerLargeFiles,
};

export function registerLargeFiles(ctx: FeatureContext): void {
  /** Files whose diagnostics were pushed, so opening one as a document hands over to pulled diagnostics. */
  const pushed = new Set<string>();

  ctx.connection.onRequest(validateFileRequest, (params, token) =>
    guarded(
      ctx,
      'validating files from disk',
      (): ValidateFileResult => ({ files: params.uris.map((uri) => ({ uri, outcome: 'failed' })), cancelled: false }),
      () => validateFiles(ctx, params, token, pushed),
    ),
  );

  ctx.documents.onDidOpen((e) => {
    // An open document gets pulled diagnostics; pushed ones for the same file would show twice.
    if (pushed.delete(e.document.uri)) void ctx.connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
  });

  ctx.connection.onRequest(serverMemoryRequest, (params): ServerMemoryResult => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (params.gc && gc) {
      // Twice: the first pass can leave objects whose finalizers free more.
      gc();
      gc();
    }
    const m = process.memoryUsage();
    return { heapUsed: m.heapUsed, heapTotal: m.heapTotal, rss: m.rss, external: m.external, arrayBuffers: m.arrayBuffers, collected: Boolean(params.gc && gc) };
  });
}

async function validateFiles(ctx: FeatureContext, params: ValidateFileParams, token: CancellationToken, pushed: Set<string>): Promise<ValidateFileResult> {
  const progress = await progressReporter(ctx, params);
  const abort = new AbortController();
  const onCancel = (): void => abort.abort();
  const subscriptions = [token.onCancellationRequested(onCancel), progress.token?.onCancellationRequested(onCancel)];
  const files: FileValidation[] = [];
  const count = params.uris.length;
  progress.begin(count === 1 ? `Tunekit: validating ${baseName(params.uris[0]!)}` : `Tunekit: validating ${count} dataset files`, 0, 'reading…', true);
  try {
    for (let i = 0; i < count; i++) {
      const uri = params.uris[i]!;
      if (abort.signal.aborted) {
        files.push({ uri, outcome: 'cancelled' });
        continue;
      }
      files.push(await validateOne(ctx, uri, i, count, progress, abort.signal, pushed));
    }
  } finally {
    for (const s of subscriptions) s?.dispose();
    progress.done();
  }
  return { files, cancelled: abort.signal.aborted };
}

async function validateOne(
  ctx: FeatureContext,
  uri: string,
  index: number,
  count: number,
  progress: WorkDoneProgressReporter,
  signal: AbortSignal,
  pushed: Set<string>,
): Promise<FileValidation> {
  const file = filePathOf(uri);
  if (!file) return { uri, outcome: 'failed', error: 'not a file: URI' };
  if (ctx.documents.get(uri)) return { uri, outcome: 'open' };
  const settings = await ctx.store.settingsFor(uri);
  const rootDir = workspaceRootOf(ctx, file);
  let dataset: boolean;
  try {
    dataset = isDatasetFile(file, settings, rootDir);
  } catch (err) {
    return { uri, outcome: 'failed', error: errorText(err) };
  }
  if (!dataset) return { uri, outcome: 'notDataset' };
  const name = baseName(uri);
  const start = performance.now();
  try {
    const result = await validateFile(file, {
      settings,
      workers: WorkerPool.shared(),
      ...(rootDir ? { rootDir } : {}),
      signal,
      onProgress: diskProgress(progress)(name, index, count),
    });
    // The document may have been opened meanwhile; its pulled diagnostics win.
    if (ctx.documents.get(uri)) return { uri, outcome: 'open' };
    await ctx.connection.sendDiagnostics({ uri, diagnostics: result.findings.map(toDiagnostic) });
    pushed.add(uri);
    const problems: ProblemCounts = { error: 0, warning: 0, info: 0, hint: 0 };
    for (const f of result.findings) problems[f.severity]++;
    return { uri, outcome: 'validated', records: result.records, problems, truncated: result.truncated, ms: Math.round(performance.now() - start) };
  } catch (err) {
    if (signal.aborted) return { uri, outcome: 'cancelled' };
    ctx.connection.console.error(`Tunekit: validating ${file} from disk failed: ${errorText(err)}`);
    return { uri, outcome: 'failed', error: errorText(err) };
  }
}

/** The client's progress token when it sent one; else a server-created progress (cancellable through window/workDoneProgress/cancel) when the client supports it. */
async function progressReporter(ctx: FeatureContext, params: ValidateFileParams): Promise<WorkDoneProgressReporter & { token?: CancellationToken }> {
  if (params.workDoneToken !== undefined) return ctx.connection.window.attachWorkDoneProgress(params.workDoneToken);
  if (ctx.client.capabilities.window?.workDoneProgress) return ctx.connection.window.createWorkDoneProgress();
  return ctx.connection.window.attachWorkDoneProgress(undefined);
}

/**
 * Whether a file on disk is a dataset, by the rules the editor uses for open documents: JSON Lines
 * always; `.json` when it holds an array whose first record has a known format, or matches
 * `tunekit.datasetFiles` and holds an array.
 */
export function isDatasetFile(file: string, settings: Settings, rootDir: string | undefined): boolean {
  const lower = file.toLowerCase();
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return true;
  if (!lower.endsWith('.json') || path.basename(lower) === 'dataset_info.json') return false;
  const head = readHead(file);
  if (looksLikeJsonDataset(head)) return true;
  if (/[^\s\ufeff]/.exec(head)?.[0] !== '[') return false;
  const candidates = [file.replace(/\\/g, '/')];
  if (rootDir) candidates.push(path.relative(rootDir, file).replace(/\\/g, '/'));
  return settings.datasetFiles.some((g) => candidates.some((c) => minimatch(c, g, { dot: true })));
}

function workspaceRootOf(ctx: FeatureContext, file: string): string | undefined {
  for (const folder of ctx.client.workspaceFolders) {
    const root = filePathOf(folder.uri);
    if (!root) continue;
    const rel = path.relative(root, file);
    if (!rel.startsWith('..') && !path.isAbsolute(rel)) return root;
  }
  return undefined;
}

function baseName(uri: string): string {
  return decodeURIComponent(uri.slice(uri.lastIndexOf('/') + 1));
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

import * as path from 'node:path';
import type { RuleServices } from '../core/rules';
import type { Settings } from '../core/settings';
import { buildReport, type DatasetReport, type ReportFileInput } from '../core/report/report';
import { defaultServices } from './services';
import { tokenCounterFor } from './tokenizers';
import { validateFile } from './validateFile';
import type { WorkerPool } from './workerPool';

/**
 * The dataset report of files on disk: each file is validated streaming (constant memory but for
 * the compact per-record facts), then the report is computed from the facts. Used by
 * `tunekit report` and by the language server for files it does not hold open.
 */

export interface ReportFilesOptions {
  settings: Settings;
  /** Extra services (a shared media probe); the token counter is added from the settings. */
  services?: RuleServices;
  /** Where relative `tunekit.tokenizer` paths resolve, and what report paths are shown relative to. */
  baseDir?: string;
  rootDir?: string;
  /** The domain dataset for the mixing schedule. */
  domain?: string;
  /** Progress over all files: bytes read so far of the total. */
  onProgress?: (done: number, total: number, file: string) => void;
  signal?: AbortSignal;
  /** Worker threads for big files (they build their own services, token counter included). */
  workers?: WorkerPool;
}

export interface FilesReport {
  report: DatasetReport;
  /** Problems that did not stop the report (an unusable tokenizer setting). */
  problems: string[];
}

/** Validates one file from disk, streaming, into what the report needs (facts, tallies). */
export async function fileReportInput(
  file: string,
  shown: string,
  opts: { settings: Settings; services: RuleServices; rootDir?: string; signal?: AbortSignal; onProgress?: (read: number, total: number) => void; workers?: WorkerPool },
): Promise<ReportFileInput> {
  const result = await validateFile(file, {
    settings: opts.settings,
    reportFacts: true,
    services: opts.services,
    ...(opts.workers ? { workers: opts.workers } : {}),
    ...(opts.rootDir ? { rootDir: opts.rootDir } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
  return { path: shown, summaries: result.summaries, tally: result.tally, errorRecords: result.errorRecords, ...(result.format ? { format: result.format } : {}) };
}

export async function reportFiles(files: readonly string[], sizes: readonly number[], opts: ReportFilesOptions): Promise<FilesReport> {
  const baseDir = opts.baseDir ?? process.cwd();
  const choice = tokenCounterFor(opts.settings, baseDir);
  const services: RuleServices = { ...(opts.services ?? defaultServices()), tokenCounter: choice.counter };
  const inputs: ReportFileInput[] = [];
  const total = sizes.reduce((a, b) => a + b, 0);
  let before = 0;
  for (let i = 0; i < files.length; i++) {
    const file = files[i]!;
    const shown = path.relative(baseDir, file) || file;
    inputs.push(
      await fileReportInput(file, shown, {
        settings: opts.settings,
        services,
        ...(opts.workers ? { workers: opts.workers } : {}),
        ...(opts.rootDir ? { rootDir: opts.rootDir } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
        onProgress: (read) => opts.onProgress?.(before + read, total, shown),
      }),
    );
    before += sizes[i] ?? 0;
  }
  const domain = opts.domain !== undefined ? path.relative(baseDir, path.resolve(baseDir, opts.domain)) || opts.domain : undefined;
  const report = buildReport(inputs, {
    settings: opts.settings,
    tokenizer: { name: choice.counter.name, exact: choice.counter.exact },
    ...(domain !== undefined ? { domain } : {}),
  });
  return { report, problems: choice.problem ? [choice.problem] : [] };
}

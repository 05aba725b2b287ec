import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CancellationToken, WorkDoneProgressReporter } from 'vscode-languageserver/node';
import { buildReport, type ReportFileInput } from '../core/report/report';
import type { Settings } from '../core/settings';
import { convertFile, convertOutputName, splitFile, splitOutputNames } from '../node/dataFiles';
import { fileReportInput } from '../node/report';
import { defaultServices } from '../node/services';
import { tokenCounterFor } from '../node/tokenizers';
import {
  convertRequest,
  reportRequest,
  splitRequest,
  type ConvertParams,
  type ConvertResult,
  type ReportParams,
  type ReportResult,
  type SplitParams,
  type SplitResult,
} from '../protocol/report';
import { diskProgress, guarded, type Feature, type FeatureContext } from './context';

/**
 * LSP glue for the dataset report (`tunekit/report`) and the data commands (`tunekit/split`,
 * `tunekit/convert`). The logic lives in core/report, core/convert, core/split and node/.
 */

export const reportFeature: Feature = {
  name: 'report',
  register: registerReport,
};

const MAX_WARNINGS = 500;

export function registerReport(ctx: FeatureContext): void {
  // Every document validator counts tokens with the tokenizer the settings name, so `too-long`
  // in the editor and the report agree.
  ctx.store.provideServices(({ settings, filePath }) => ({ tokenCounter: tokenCounterFor(settings, rootOf(ctx, filePath)).counter }));

  ctx.connection.onRequest(reportRequest, (params, token) =>
    guarded(ctx, 'building the dataset report', (): ReportResult => ({ cancelled: false, problems: ['The report failed; see the Tunekit output channel.'] }), () => report(ctx, params, token)),
  );
  ctx.connection.onRequest(splitRequest, (params) => guarded(ctx, 'splitting a dataset', (): SplitResult => ({ ok: false, error: 'the split failed; see the Tunekit output channel' }), () => split(ctx, params)));
  ctx.connection.onRequest(convertRequest, (params) =>
    guarded(ctx, 'converting a dataset', (): ConvertResult => ({ ok: false, error: 'the conversion failed; see the Tunekit output channel', warnings: [] }), () => convert(ctx, params)),
  );
}

async function report(ctx: FeatureContext, params: ReportParams, token: CancellationToken): Promise<ReportResult> {
  const progress: WorkDoneProgressReporter = ctx.connection.window.attachWorkDoneProgress(params.workDoneToken);
  const abort = new AbortController();
  const subscription = token.onCancellationRequested(() => abort.abort());
  const inputs: ReportFileInput[] = [];
  const problems: string[] = [];
  let settings: Settings | undefined;
  const fileProgress = diskProgress(progress);
  progress.begin('Tunekit: dataset report', 0, 'reading…', true);
  try {
    for (let i = 0; i < params.uris.length; i++) {
      const uri = params.uris[i]!;
      const fileSettings = await ctx.store.settingsFor(uri);
      settings ??= fileSettings;
      const filePath = filePathOf(uri);
      const shown = shownPath(ctx, uri, filePath);
      if (ctx.documents.get(uri)) {
        // Open documents: the store's validation, whose per-record cache makes an edit cheap.
        ctx.store.includeReportFacts(uri);
        const result = await ctx.store.getResult(uri);
        if (!result?.isDataset) {
          problems.push(`${shown} is not a dataset file.`);
          continue;
        }
        const r = result.validated.result;
        inputs.push({ path: shown, summaries: r.summaries, tally: r.tally, errorRecords: r.errorRecords, ...(r.format ? { format: r.format } : {}) });
      } else if (filePath) {
        const choice = tokenCounterFor(fileSettings, rootOf(ctx, filePath));
        if (choice.problem) problems.push(choice.problem);
        const rootDir = rootOf(ctx, filePath);
        inputs.push(
          await fileReportInput(filePath, shown, {
            settings: fileSettings,
            services: { ...defaultServices(), tokenCounter: choice.counter },
            ...(rootDir ? { rootDir } : {}),
            signal: abort.signal,
            onProgress: fileProgress(shown, i, params.uris.length),
          }),
        );
      } else problems.push(`${uri} is neither an open document nor a file.`);
    }
  } catch (err) {
    if (abort.signal.aborted) return { cancelled: true, problems };
    throw err;
  } finally {
    subscription.dispose();
    progress.done();
  }
  if (!settings || inputs.length === 0) return { cancelled: false, problems };
  const first = params.uris[0];
  const choice = tokenCounterFor(settings, rootOf(ctx, first ? filePathOf(first) : undefined));
  if (choice.problem && !problems.includes(choice.problem)) problems.push(choice.problem);
  const domain = params.domain !== undefined ? shownPath(ctx, params.domain, filePathOf(params.domain)) : undefined;
  const built = buildReport(inputs, { settings, tokenizer: { name: choice.counter.name, exact: choice.counter.exact }, ...(domain ? { domain } : {}) });
  return { report: built, cancelled: false, problems };
}

async function split(ctx: FeatureContext, params: SplitParams): Promise<SplitResult> {
  const file = filePathOf(params.uri);
  if (!file) return { ok: false, error: 'only files on disk can be split (save the document first)' };
  const names = splitOutputNames(file);
  const exists = [names.train, names.validation].filter((f) => fs.existsSync(f));
  if (exists.length && !params.force) return { ok: false, exists: exists.map((f) => pathToFileURL(f).toString()) };
  const settings = await ctx.store.settingsFor(params.uri);
  const r = await splitFile(file, { settings, validation: params.validation, seed: params.seed, stratify: params.stratify, force: true });
  return {
    ok: true,
    trainUri: pathToFileURL(r.trainFile).toString(),
    validationUri: pathToFileURL(r.validationFile).toString(),
    train: r.train,
    validation: r.validation,
    strata: r.plan.strata,
  };
}

async function convert(ctx: FeatureContext, params: ConvertParams): Promise<ConvertResult> {
  const file = filePathOf(params.uri);
  if (!file) return { ok: false, error: 'only files on disk can be converted (save the document first)', warnings: [] };
  const output = params.outputUri ? filePathOf(params.outputUri) : convertOutputName(file, params.to);
  if (!output) return { ok: false, error: 'the output must be a file', warnings: [] };
  if (path.resolve(output) === path.resolve(file)) return { ok: false, error: 'the output is the input file; choose another', warnings: [] };
  if (fs.existsSync(output) && !params.force) return { ok: false, exists: [pathToFileURL(output).toString()], warnings: [] };
  const settings = await ctx.store.settingsFor(params.uri);
  const warnings: ConvertResult['warnings'] = [];
  const r = await convertFile(file, {
    settings,
    to: params.to,
    output,
    force: true,
    onWarning: (line, message) => {
      if (warnings.length < MAX_WARNINGS) warnings.push({ line, message });
    },
  });
  return { ok: true, outputUri: pathToFileURL(r.output).toString(), records: r.records, written: r.written, skipped: r.skipped, lossy: r.lossy, warnings };
}

function filePathOf(uri: string | undefined): string | undefined {
  if (!uri?.startsWith('file:')) return undefined;
  try {
    return fileURLToPath(uri);
  } catch {
    return undefined;
  }
}

function rootOf(ctx: FeatureContext, file: string | undefined): string | undefined {
  for (const folder of ctx.client.workspaceFolders) {
    const root = filePathOf(folder.uri);
    if (!root) continue;
    if (!file) return root;
    const rel = path.relative(root, file);
    if (!rel.startsWith('..') && !path.isAbsolute(rel)) return root;
  }
  return undefined;
}

/** The file as people see it in the workspace: relative to its folder, else its name. */
function shownPath(ctx: FeatureContext, uri: string, file: string | undefined): string {
  if (!file) return decodeURIComponent(uri.slice(uri.lastIndexOf('/') + 1));
  const root = rootOf(ctx, file);
  return root ? path.relative(root, file) || path.basename(file) : path.basename(file);
}

import { RequestType, type WorkDoneProgressParams } from 'vscode-languageserver-protocol';
import type { ConvertTarget } from '../core/convert';
import type { DatasetReport } from '../core/report/report';

/**
 * The dataset report and the data commands (split, convert) over LSP. Shared by the server, which
 * answers, and the client, which shows the report webview and asks through quick picks.
 */

export interface ReportParams extends WorkDoneProgressParams {
  /** `file:` (or `untitled:`) URIs. An open document is reported from its current text, unsaved edits included. */
  uris: string[];
  /** The domain dataset of a mix (one of `uris`) for the mixing schedule. */
  domain?: string;
}

export interface ReportResult {
  report?: DatasetReport;
  cancelled: boolean;
  /** Problems that did not stop the report (an unusable tokenizer setting), or why there is none. */
  problems: string[];
}

/**
 * `tunekit/report`: the report of one or more datasets. Open documents come from the server's
 * per-document validation (incremental: only edited records are analysed again); other files are
 * read from disk with work-done progress, cancellable by cancelling the request.
 */
export const reportRequest = new RequestType<ReportParams, ReportResult, void>('tunekit/report');

export interface SplitParams {
  uri: string;
  /** Fraction (0 < f < 1) or count (≥ 1) of records for validation. */
  validation: number;
  seed: number;
  stratify: boolean;
  /** Overwrite existing output files. */
  force?: boolean;
}

export interface SplitResult {
  ok: boolean;
  /** Output files that already exist (nothing was written; ask, then send again with `force`). */
  exists?: string[];
  error?: string;
  trainUri?: string;
  validationUri?: string;
  train?: number;
  validation?: number;
  /** Labels the split was stratified over (0: not stratified). */
  strata?: number;
}

/** `tunekit/split`: a deterministic train/validation split of a dataset file into two new files beside it. */
export const splitRequest = new RequestType<SplitParams, SplitResult, void>('tunekit/split');

export interface ConvertParams {
  uri: string;
  to: ConvertTarget;
  /** Where to write; default: beside the input, named after the target format. */
  outputUri?: string;
  force?: boolean;
}

export interface ConvertWarning {
  /** 1-based line of the record in the input. */
  line: number;
  message: string;
}

export interface ConvertResult {
  ok: boolean;
  exists?: string[];
  error?: string;
  outputUri?: string;
  records?: number;
  written?: number;
  skipped?: number;
  /** Records converted with a warning. */
  lossy?: number;
  /** The first warnings (at most 500). */
  warnings: ConvertWarning[];
}

/** `tunekit/convert`: converts a dataset file to another format; lossless where the formats allow, a warning per record where not. */
export const convertRequest = new RequestType<ConvertParams, ConvertResult, void>('tunekit/convert');

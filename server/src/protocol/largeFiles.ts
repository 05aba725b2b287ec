import { RequestType, type WorkDoneProgressParams } from 'vscode-languageserver-protocol';
import type { ProblemCounts } from './status';

/**
 * Validation from disk, for dataset files the editor does not sync (VS Code hands extensions no
 * document over 50 MB) and for "Validate Workspace Datasets". Shared by the server (which answers)
 * and the client (which asks, and shows the progress with a Cancel button).
 */

/** VS Code's limit: files bigger than this are never synced to extensions as documents. */
export const LARGE_FILE_BYTES = 50 * 1024 * 1024;

export interface ValidateFileParams extends WorkDoneProgressParams {
  /** `file:` URIs of the files to validate, in order. */
  uris: string[];
}

/**
 * What happened to one file: `validated` (its diagnostics were published), `open` (the editor
 * syncs it, so its pulled diagnostics already cover it), `notDataset`, `cancelled` or `failed`.
 */
export type FileOutcome = 'validated' | 'open' | 'notDataset' | 'cancelled' | 'failed';

export interface FileValidation {
  uri: string;
  outcome: FileOutcome;
  records?: number;
  problems?: ProblemCounts;
  /** True when problems were cut at `tunekit.maxProblems`. */
  truncated?: boolean;
  ms?: number;
  error?: string;
}

export interface ValidateFileResult {
  files: FileValidation[];
  /** True when the user cancelled (the files not reached are `cancelled`). */
  cancelled: boolean;
}

/**
 * `tunekit/validateFile`: validates files from disk in worker threads, reporting work-done
 * progress (cancellable: cancel the request, or the progress when the server created it) and
 * publishing each file's diagnostics with `textDocument/publishDiagnostics`.
 */
export const validateFileRequest = new RequestType<ValidateFileParams, ValidateFileResult, void>('tunekit/validateFile');

export interface ServerMemoryParams {
  /** Collect garbage first (only when the server runs with --expose-gc, as the benchmark starts it). */
  gc?: boolean;
}

export interface ServerMemoryResult {
  heapUsed: number;
  heapTotal: number;
  rss: number;
  external: number;
  arrayBuffers: number;
  /** Whether garbage was collected before measuring. */
  collected: boolean;
}

/** `tunekit/serverMemory`: the server process's memory (the benchmark's memory figure). */
export const serverMemoryRequest = new RequestType<ServerMemoryParams, ServerMemoryResult, void>('tunekit/serverMemory');

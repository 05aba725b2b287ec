import { NotificationType, RequestType } from 'vscode-languageserver-protocol';

/**
 * Custom messages about a document's validation, shared by the server (which sends and answers
 * them) and the client (which shows them in a language status item).
 */

export interface ProblemCounts {
  error: number;
  warning: number;
  info: number;
  hint: number;
}

/** Sent after every validation of an open document, and when a document stops being a dataset. */
export interface StatusParams {
  uri: string;
  /** False for `.json` files that are not datasets; the other fields are then empty. */
  isDataset: boolean;
  /** The file's dominant format, if any record was recognised. */
  format?: string;
  records: number;
  problems: ProblemCounts;
  /** True when problems were cut at `tunekit.maxProblems`. */
  truncated: boolean;
  /** Validation time in milliseconds (settings lookup excluded). */
  ms: number;
  /** Set when validation failed; the diagnostics shown are then the last good ones. */
  error?: string;
}

export const statusNotification = new NotificationType<StatusParams>('tunekit/status');

export interface StatsParams {
  uri: string;
}

/** A document validator's work counters, cumulative since the validator was created. */
export interface StatsResult {
  recordsAnalyzed: number;
  ruleInvocations: number;
  /** How many times the document was validated (cache misses on the document version). */
  validations: number;
}

/** The validator's counters for an open document (null when it is not a dataset or not open). Tests prove incrementality with it. */
export const statsRequest = new RequestType<StatsParams, StatsResult | null, void>('tunekit/stats');

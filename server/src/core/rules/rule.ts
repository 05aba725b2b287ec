import type { FormatContext, FormatDef, JsonObject } from '../formats';
import type { Settings } from '../settings';
import type { Fix, Issue, RawRecord, RecordIssue, Sample } from '../types';
import type { RelativeRange } from '../records/positions';
import type { RecordFacts, RecordSummary } from '../summary';

/** What a record rule sees. Rules report with JSON paths; positions are resolved later. */
export interface RecordRuleContext {
  record: RawRecord;
  value: JsonObject;
  sample: Sample;
  format: FormatDef;
  settings: Settings;
  formatContext: FormatContext;
  /** Facts kept for dataset rules and the report; rules add theirs here. */
  facts: RecordFacts;
  report(issue: Omit<Issue, 'severity'>): void;
  /** Resolves a path (with optional span) to a range relative to the record, for facts that dataset rules report later. */
  anchor(issue: Pick<Issue, 'path' | 'span' | 'onKey'>): RelativeRange;
  /** Services a rule may use (injected, so the core does no I/O of its own). */
  services: RuleServices;
}

/** Injected services. All optional: the core works without them, with fewer checks. */
export interface RuleServices {
  [name: string]: unknown;
}

/** A rule over one record. Must not throw; must depend only on the record and the settings. */
export interface RecordRule {
  name: string;
  codes: readonly string[];
  /** Formats the rule applies to; undefined = all. */
  formats?: readonly string[];
  check(ctx: RecordRuleContext): void;
}

export interface DatasetRuleContext {
  settings: Settings;
  formatContext: FormatContext;
}

/** An edit of a record by a range recorded in the facts (dataset rules never see the text). */
export interface RelativeEdit {
  rel: RelativeRange;
  newText: string;
}

/** A dataset rule's fix: like `Fix`, with edits pinned by ranges relative to the record. */
export interface DatasetFix extends Omit<Fix, 'edits'> {
  edits: RelativeEdit[];
}

/** A dataset-level issue; `rel` pins it to a range recorded in the facts, else it covers the record. */
export interface DatasetIssue extends Omit<RecordIssue, 'severity' | 'fixes'> {
  rel?: RelativeRange;
  fixes?: DatasetFix[];
}

/**
 * The records of a file that share one text, hence one facts object: the unit an incremental
 * dataset rule counts (the same record text may occur several times, e.g. duplicates).
 */
export interface TrackedRecords {
  readonly facts: RecordFacts;
}

/** The file as an incremental rule sees it when asked for its issues. */
export interface DatasetView {
  /** The current summaries, in file order (what `check` would get). */
  readonly summaries: readonly RecordSummary[];
  /** Positions in `summaries` of the records in `group`, ascending. */
  positions(group: TrackedRecords): readonly number[];
}

/**
 * A dataset rule's counts kept across validations (the editor validates on every keystroke):
 * the validator tells it only which record groups entered, left or changed multiplicity.
 */
export interface DatasetRuleState {
  /** `group` now occurs `to` times in the file instead of `from` (0 = entering or leaving). */
  update(group: TrackedRecords, from: number, to: number): void;
  /**
   * Exactly what `check(view.summaries, ctx)` returns (same issues, same order), ideally at a
   * cost of the issues reported rather than of the records.
   */
  issues(view: DatasetView): DatasetIssue[];
}

/** A rule over the whole file's summaries (never the text). Must be O(records). */
export interface DatasetRule {
  name: string;
  codes: readonly string[];
  check(summaries: readonly RecordSummary[], ctx: DatasetRuleContext): DatasetIssue[];
  /** Optional incremental form for validators that keep their records' facts across validations. */
  incremental?(ctx: DatasetRuleContext): DatasetRuleState;
}

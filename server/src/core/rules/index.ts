import type { DatasetRule, RecordRule } from './rule';
import { conversationRule, emptyContentRule, lengthRule } from './structure';
import { duplicatesRule, formatMismatchRule } from './dataset';
import { mediaRule, missingModalityRule } from './media';

export type { DatasetIssue, DatasetRule, DatasetRuleContext, RecordRule, RecordRuleContext, RuleServices } from './rule';

/** Every record rule, in reporting order. Rule families register here. */
export const RECORD_RULES: RecordRule[] = [conversationRule, emptyContentRule, lengthRule, mediaRule];

/** Every dataset-level rule. */
export const DATASET_RULES: DatasetRule[] = [formatMismatchRule, duplicatesRule, missingModalityRule];

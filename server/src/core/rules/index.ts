import type { DatasetRule, RecordRule } from './rule';
import { conversationRule, emptyContentRule, lengthRule } from './structure';
import { duplicatesRule, formatMismatchRule } from './dataset';
import { mediaRule, missingModalityRule } from './media';
import { answerFactsRule, answerInOptionsRule, inconsistentAnswerFormatRule } from './qa';
import { reportFactsRule } from '../report/facts';
import { leakageRule, repeatedBoilerplateRule, repeatedSpansRule } from './leakage';

export type { DatasetIssue, DatasetRule, DatasetRuleContext, RecordRule, RecordRuleContext, RuleServices } from './rule';

/** Every record rule, in reporting order. Rule families register here. */
export const RECORD_RULES: RecordRule[] = [conversationRule, emptyContentRule, lengthRule, mediaRule, answerInOptionsRule, answerFactsRule, leakageRule, repeatedSpansRule];

/** The record rules plus the facts only the dataset report reads (validating does without them). */
export const REPORT_RULES: RecordRule[] = [...RECORD_RULES, reportFactsRule];

/** Every dataset-level rule. */
export const DATASET_RULES: DatasetRule[] = [formatMismatchRule, duplicatesRule, missingModalityRule, inconsistentAnswerFormatRule, repeatedBoilerplateRule];

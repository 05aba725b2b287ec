import * as fs from 'node:fs';
import { analyzeRecord } from '../server/src/core/analyze';
import { JsonlSplitter } from '../server/src/core/records/jsonl';
import { DATASET_RULES, RECORD_RULES, REPORT_RULES, type RecordRule } from '../server/src/core/rules';
import { DEFAULT_SETTINGS } from '../server/src/core/settings';
import type { RawRecord } from '../server/src/core/types';
import { DatasetValidator } from '../server/src/core/validator';

/**
 * Where the time goes: per-record cost of JSON.parse, of the record pipeline without rules
 * (detect, schema, normalise, hash), of each record rule on top of it, and of each dataset rule.
 * One thread, no media probing; medians of `runs`. The figures the targets depend on.
 */

export interface CostRow {
  part: string;
  microsPerRecord: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

export function profileRules(file: string, records: number, runs: number): CostRow[] {
  const all: RawRecord[] = [];
  const splitter = new JsonlSplitter((r) => {
    if (all.length < records) all.push(r);
  });
  splitter.push(fs.readFileSync(file, 'utf8'));
  splitter.end();
  const settings = DEFAULT_SETTINGS;
  const formatContext = { settings };
  const time = (fn: () => void): number => {
    const samples: number[] = [];
    for (let k = 0; k < runs; k++) {
      const t = performance.now();
      fn();
      samples.push(performance.now() - t);
    }
    return (median(samples) * 1000) / all.length;
  };
  const analyzeWith = (rules: readonly RecordRule[]): (() => void) => () => {
    for (const r of all) analyzeRecord(r, { settings, formatContext, rules, services: {} });
  };
  const rows: CostRow[] = [];
  rows.push({
    part: 'JSON.parse',
    microsPerRecord: time(() => {
      for (const r of all) {
        try {
          JSON.parse(r.text);
        } catch {
          // Broken lines cost their attempt.
        }
      }
    }),
  });
  const base = time(analyzeWith([]));
  rows.push({ part: 'record pipeline without rules (parse, detect, schema, normalise, hash)', microsPerRecord: base });
  for (const rule of REPORT_RULES) {
    const onlyReport = !RECORD_RULES.includes(rule);
    rows.push({ part: `record rule ${rule.name}${onlyReport ? ' (only for the report)' : ''}`, microsPerRecord: Math.max(0, time(analyzeWith([rule])) - base) });
  }
  rows.push({ part: 'all record rules together (analyzeRecord, validating)', microsPerRecord: time(analyzeWith(RECORD_RULES)) });
  rows.push({ part: 'all record rules with the report facts (tunekit report)', microsPerRecord: time(analyzeWith(REPORT_RULES)) });
  const summaries = new DatasetValidator({ settings }).validateText(all.map((r) => r.text).join('\n'), 'jsonl').summaries;
  const ctx = { settings, formatContext };
  for (const rule of DATASET_RULES) rows.push({ part: `dataset rule ${rule.name}`, microsPerRecord: time(() => void rule.check(summaries, ctx)) });
  return rows;
}

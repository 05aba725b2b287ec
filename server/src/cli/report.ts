import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { DatasetReport, Stats } from '../core/report/report';
import { ROLE_KEYS } from '../core/report/facts';
import { collectDatasetFiles } from '../node/files';
import { reportFiles } from '../node/report';
import { reportPageHtml } from '../node/reportHtml';
import { defaultWorkerCount, WorkerPool } from '../node/workerPool';
import { CliUsageError, progressLine, SETTINGS_OPTIONS, settingsFromFlags } from './flags';

export const REPORT_USAGE = '  tunekit report [--json] [--html FILE] [--domain PATH] [--tokenizer T] [--target T] [--max-tokens N] [--jobs N] PATH...';

/** `tunekit report`: the dataset report (DIAGNOSTICS.md), as text, JSON (`--json`) or a self-contained page (`--html FILE`). */
export async function reportCommand(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      html: { type: 'string' },
      domain: { type: 'string' },
      jobs: { type: 'string' },
      ...SETTINGS_OPTIONS,
    },
  });
  if (positionals.length === 0) throw new CliUsageError('report needs at least one PATH');
  const jobs = values.jobs === undefined ? defaultWorkerCount() : Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) throw new CliUsageError('--jobs must be a positive whole number');
  const settings = settingsFromFlags(values);
  const { files, errors } = collectDatasetFiles(positionals);
  for (const e of errors) err.write(`tunekit: ${e}\n`);
  if (files.length === 0) {
    err.write('tunekit: no dataset files to report on\n');
    return 2;
  }
  const sizes: number[] = [];
  for (const f of files) {
    try {
      sizes.push(fs.statSync(f).size);
    } catch (e) {
      err.write(`tunekit: ${f}: ${(e as Error).message}\n`);
      return 2;
    }
  }
  const progress = progressLine(err);
  // Worker threads analyse the records of big files, as in `tunekit validate` (--jobs 1: this thread only).
  const pool = jobs > 1 ? new WorkerPool(jobs) : undefined;
  let result;
  try {
    result = await reportFiles(files, sizes, {
      settings,
      ...(pool ? { workers: pool } : {}),
      ...(values.domain !== undefined ? { domain: values.domain } : {}),
      onProgress: (done, total, file) => progress.update(`tunekit report: ${file} ${total > 0 ? Math.floor((done / total) * 100) : 100}%`),
    });
  } catch (e) {
    progress.done();
    err.write(`tunekit: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? `no such file: ${(e as NodeJS.ErrnoException).path ?? ''}` : (e as Error).message}\n`);
    return 2;
  } finally {
    await pool?.close();
  }
  progress.done();
  for (const p of result.problems) err.write(`tunekit: ${p}\n`);
  const report = result.report;
  if (values.html !== undefined) {
    const file = path.resolve(values.html);
    try {
      fs.writeFileSync(file, reportPageHtml(report, { title: `Tunekit report: ${report.files.map((f) => f.path).join(', ')}` }));
    } catch (e) {
      err.write(`tunekit: cannot write ${values.html}: ${(e as Error).message}\n`);
      return 2;
    }
    if (!values.json) err.write(`tunekit: wrote ${path.relative(process.cwd(), file) || file}\n`);
  }
  if (values.json) out.write(JSON.stringify(report) + '\n');
  else out.write(reportText(report));
  return errors.length > 0 ? 2 : 0;
}

const n = (x: number): string => Math.round(x).toLocaleString('en-US');

function statLine(s: Stats): string {
  return s.records === 0 ? '—' : `mean ${n(s.mean)}, median ${n(s.p50)}, p95 ${n(s.p95)}, max ${n(s.max)} (${n(s.records)} records)`;
}

/** The report for people: what matters first, numbers aligned, the plan with its reasons. */
export function reportText(r: DatasetReport): string {
  const lines: string[] = [];
  const add = (s = ''): void => {
    lines.push(s);
  };
  add(`Dataset report: ${r.files.map((f) => `${f.path} (${n(f.records)})`).join(', ')}`);
  add(`  records      ${n(r.samples)} (${n(r.trainable)} trainable, ${n(r.errorRecords)} with errors)`);
  add(`  formats      ${Object.entries(r.formats).map(([k, v]) => `${k} ${n(v)}`).join(', ') || '—'}`);
  const m = r.modality;
  add(`  modality     text-only ${n(m.textOnly)}, one image ${n(m.image)}, several images ${n(m.multiImage)}, video ${n(m.video)}, audio ${n(m.audio)}`);
  add(`  media        ${n(r.media.images)} images, ${n(r.media.videos)} videos, ${n(r.media.audios)} audios; per record max ${n(r.media.perRecord.max)}, mean ${r.media.perRecord.mean}`);
  add(`  turns        min ${r.turns.min}, max ${r.turns.max}, mean ${r.turns.mean}`);
  add(`  duplicates   ${n(r.duplicates)} exact, ${n(r.nearDuplicates.count)} near (similarity ≥ ${r.nearDuplicates.threshold})`);
  add();
  add(`Lengths (characters | tokens, ${r.tokens.exact ? r.tokens.tokenizer : 'ESTIMATED'})`);
  for (const role of ROLE_KEYS) {
    const c = r.lengths.roles[role];
    if (c.records === 0) continue;
    add(`  ${role.padEnd(10)} ${statLine(c)} | ${statLine(r.tokens.roles[role])}`);
  }
  add(`  per record  ${statLine(r.tokens.perRecord)} tokens; ${n(r.tokens.images.tokens)} image tokens in all`);
  add(`  over tunekit.maxTokens ${n(r.tokens.maxTokens)}: ${n(r.tokens.overMax)} record${r.tokens.overMax === 1 ? '' : 's'}${r.tokens.overMaxExamples.length ? ` (first: ${r.tokens.overMaxExamples.slice(0, 5).map((e) => `${e.file}:${e.line}`).join(', ')})` : ''}`);
  add(`  ${r.tokens.note}`);
  if (r.labelStats) {
    const l = r.labelStats;
    add();
    add(`Labels (${n(l.records)} answers, ${n(l.classes)} distinct${l.labelLike ? '' : ': free text, not a label set'})`);
    if (r.labels) {
      const entries = Object.entries(r.labels);
      const width = Math.min(24, Math.max(...entries.map(([k]) => k.length)));
      const max = Math.max(...entries.map(([, v]) => v));
      for (const [k, v] of entries.slice(0, 15)) add(`  ${k.slice(0, width).padEnd(width)} ${String(v).padStart(7)} ${'█'.repeat(Math.max(1, Math.round((v / max) * 30)))}`);
      if (entries.length > 15) add(`  … ${entries.length - 15} more`);
      add(`  imbalance ratio ${l.imbalanceRatio} (largest "${l.largest?.label}" ${l.largest?.count}, smallest "${l.smallest?.label}" ${l.smallest?.count}); ${l.longTail.classes.length} class${l.longTail.classes.length === 1 ? '' : 'es'} under ${l.longTail.min} records`);
    }
    add(`  answer formats: ${Object.entries(l.shapes).map(([k, v]) => `${k} ${v}`).join(', ')}${l.consistent ? ' (consistent)' : ` (majority: ${l.majorityShapeName})`}`);
  }
  add();
  add(`Problems: ${n(r.severities.error)} errors, ${n(r.severities.warning)} warnings, ${n(r.severities.info + r.severities.hint)} info`);
  for (const i of r.issueList.slice(0, 20)) add(`  ${i.severity.padEnd(8)}${i.code.padEnd(28)}${String(i.count).padStart(8)}   first at ${i.file}:${i.line}`);
  add();
  add(`Training plan (${n(r.plan.records)} trainable records)`);
  for (const item of r.plan.items) {
    const mark = item.level === 'error' ? '✖' : item.level === 'warning' ? '⚠' : '•';
    add(`  ${mark} ${item.title}: ${item.advice}`);
    add(`      from: ${item.basis}`);
  }
  add();
  return lines.join('\n');
}

export { CliUsageError };

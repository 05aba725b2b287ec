import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { Finding } from './core/validator';
import { collectDatasetFiles } from './node/files';
import { servicesFromOptions, validateFile } from './node/validateFile';
import { defaultWorkerCount, limitHeapGrowth, WorkerPool } from './node/workerPool';
import { progressLine, settingsFromFlags, SETTINGS_OPTIONS } from './cli/flags';
import { REPORT_USAGE, reportCommand } from './cli/report';
import { SPLIT_USAGE, splitCommand } from './cli/split';
import { CONVERT_USAGE, convertCommand } from './cli/convert';
import { FIX_USAGE, fixCommand } from './cli/fix';
import { RUN_USAGE, runCommand } from './cli/run';

/**
 * `tunekit` command line: the same core as the language server, headless, for CI pipelines.
 * Output contract: ../DIAGNOSTICS.md (`--json`: one object per diagnostic per line; exit 0/1/2).
 */

const USAGE = `Usage:
  tunekit validate [--json] [--target T] [--format F] [--media-root DIR] [--max-tokens N] [--rule CODE=LEVEL]... [--jobs N] PATH...
${REPORT_USAGE}
${SPLIT_USAGE}
${CONVERT_USAGE}
${FIX_USAGE}
${RUN_USAGE}

PATH is a file or a folder (folders: every .jsonl, .ndjson and dataset .json inside).
Exit status: 0 no errors, 1 errors found, 2 usage or I/O failure.`;

class UsageError extends Error {}

export async function main(argv: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'validate':
        return await validateCommand(rest, out, err);
      case 'report':
        return await reportCommand(rest, out, err);
      case 'split':
        return await splitCommand(rest, out, err);
      case 'convert':
        return await convertCommand(rest, out, err);
      case 'fix':
        return await fixCommand(rest, out, err);
      case 'run':
        return await runCommand(rest, out, err);
      case '--help':
      case '-h':
      case 'help':
      case undefined:
        out.write(USAGE + '\n');
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err.write(`tunekit: ${(e as Error).message}\n${USAGE}\n`);
      return 2;
    }
    err.write(`tunekit: ${(e as Error).stack ?? String(e)}\n`);
    return 2;
  }
}

async function validateCommand(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      ...SETTINGS_OPTIONS,
      'max-problems': { type: 'string' },
      jobs: { type: 'string' },
    },
  });
  if (positionals.length === 0) throw new UsageError('validate needs at least one PATH');
  const jobs = values.jobs === undefined ? defaultWorkerCount() : Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError('--jobs must be a positive whole number');
  const settings = settingsFromFlags(values);
  const { files, errors } = collectDatasetFiles(positionals);
  for (const e of errors) err.write(`tunekit: ${e}\n`);
  const totals = { error: 0, warning: 0, info: 0, hint: 0 };
  let records = 0;
  let ioFailure = errors.length > 0;
  // One media probe for every file (the streaming one: a small cache, so memory does not grow with the file).
  const services = servicesFromOptions();
  // Worker threads analyse the records of big files (--jobs 1: all on this thread); each worker
  // has its own media probe, shared by the files it sees.
  limitHeapGrowth();
  const pool = jobs > 1 ? new WorkerPool(jobs) : undefined;
  const progress = progressLine(err);
  for (const file of files) {
    const shown = path.relative(process.cwd(), file) || file;
    let findings: Finding[];
    try {
      const result = await validateFile(file, {
        settings,
        services,
        ...(pool ? { workers: pool } : {}),
        onProgress: (done, total) => progress.update(`${shown}: ${total > 0 ? Math.floor((done / total) * 100) : 100}% of ${(total / 1e6).toFixed(1)} MB`),
      });
      progress.done();
      findings = result.findings;
      records += result.records;
      if (result.truncated) err.write(`tunekit: ${shown}: more than ${settings.maxProblems} problems; only the first ${settings.maxProblems} are shown (--max-problems)\n`);
    } catch (e) {
      progress.done();
      err.write(`tunekit: ${shown}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}\n`);
      ioFailure = true;
      continue;
    }
    for (const f of findings) totals[f.severity]++;
    if (values.json) {
      for (const f of findings) {
        out.write(
          JSON.stringify({
            file: shown,
            line: f.range.start.line + 1,
            column: f.range.start.character + 1,
            endLine: f.range.end.line + 1,
            endColumn: f.range.end.character + 1,
            severity: f.severity,
            code: f.code,
            message: f.message,
          }) + '\n',
        );
      }
    } else if (findings.length > 0) {
      out.write(`${shown}\n`);
      for (const f of findings) {
        const pos = `${f.range.start.line + 1}:${f.range.start.character + 1}`;
        out.write(`  ${pos.padEnd(9)} ${f.severity.padEnd(7)} ${f.code.padEnd(24)} ${f.message}\n`);
      }
      out.write('\n');
    }
  }
  await pool?.close();
  if (!values.json) {
    const n = totals.error + totals.warning + totals.info + totals.hint;
    out.write(
      `${n === 0 ? '✔' : '✖'} ${n} problem${n === 1 ? '' : 's'} (${totals.error} error${totals.error === 1 ? '' : 's'}, ${totals.warning} warning${totals.warning === 1 ? '' : 's'}, ${totals.info + totals.hint} info) in ${files.length} file${files.length === 1 ? '' : 's'}, ${records.toLocaleString('en-US')} records\n`,
    );
  }
  if (ioFailure) return 2;
  return totals.error > 0 ? 1 : 0;
}

/** Entry point for bin/tunekit.js. */
export function run(): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`tunekit: ${String(e)}\n`);
      process.exitCode = 2;
    },
  );
}

import * as fs from 'node:fs';
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { parseArgs } from 'node:util';
import { applyRecordEdits, pickFixes } from '../core/fixes';
import { JsonArrayScanner } from '../core/records/jsonArray';
import { JsonlSplitter } from '../core/records/jsonl';
import type { Settings } from '../core/settings';
import type { Fix, RawRecord } from '../core/types';
import { DatasetValidator, fileKindOf } from '../core/validator';
import { datasetInfoFor, readHead } from '../node/files';
import { CliUsageError, SETTINGS_OPTIONS, settingsFromFlags } from './flags';

export const FIX_USAGE = '  tunekit fix [--dry-run] [--in-place | -o OUT] [--target T] [--format F] [--rule CODE=LEVEL]... PATH';

/** How many times a record is re-analysed after its fixes applied (a fix may reveal another). */
const MAX_PASSES = 3;

export interface FixSummary {
  records: number;
  changedRecords: number;
  /** Applied fixes by title. */
  applied: Map<string, number>;
  /** 1-based lines of the changed records, and what was applied there (first few, for --dry-run). */
  changes: { line: number; titles: string[] }[];
  /** Problems left in the records after fixing (record-level; dataset-level ones need `tunekit validate`). */
  remaining: number;
}

/**
 * `tunekit fix`: applies the safe quick fixes to every record of a file, streaming, and writes a
 * new file (`<name>.fixed<ext>`, or `-o OUT`), or the file itself with `--in-place`. The text
 * between records and every record without a safe fix are copied byte for byte, so no record is
 * lost or reordered.
 */
export async function fixCommand(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      'dry-run': { type: 'boolean', default: false },
      'in-place': { type: 'boolean', default: false },
      output: { type: 'string', short: 'o' },
      ...SETTINGS_OPTIONS,
    },
  });
  if (positionals.length !== 1) throw new CliUsageError('fix takes exactly one PATH (a .jsonl, .ndjson or dataset .json file)');
  if (values['in-place'] && values.output !== undefined) throw new CliUsageError('--in-place and -o are exclusive');
  const settings = settingsFromFlags(values);
  const file = path.resolve(positionals[0]!);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    err.write(`tunekit: ${positionals[0]}: no such file\n`);
    return 2;
  }
  if (!stat.isFile()) throw new CliUsageError(`${positionals[0]} is not a file`);
  const dryRun = values['dry-run'];
  const target = dryRun ? undefined : values['in-place'] ? file : path.resolve(values.output ?? defaultOutput(file));
  if (target && target !== file && fs.existsSync(target) && fs.statSync(target).isDirectory()) throw new CliUsageError(`${values.output} is a folder`);
  // In place: write beside the file, then rename over it, so a failure never leaves half a file.
  const temp = target === file ? `${file}.tunekit-${process.pid}.tmp` : target;
  let summary: FixSummary;
  try {
    summary = await fixFile(file, settings, temp);
    if (temp && temp !== target) fs.renameSync(temp, target!);
  } catch (e) {
    if (temp && temp !== target) fs.rmSync(temp, { force: true });
    err.write(`tunekit: ${positionals[0]}: ${(e as Error).message}\n`);
    return 2;
  }
  const shown = path.relative(process.cwd(), file) || file;
  const total = [...summary.applied.values()].reduce((a, b) => a + b, 0);
  if (total === 0) out.write(`${shown}: nothing to fix safely (${summary.records.toLocaleString('en-US')} records)\n`);
  else {
    out.write(`${shown}: ${dryRun ? 'would apply' : 'applied'} ${total} fix${total === 1 ? '' : 'es'} in ${summary.changedRecords} of ${summary.records.toLocaleString('en-US')} records\n`);
    for (const [title, n] of [...summary.applied].sort((a, b) => b[1] - a[1])) out.write(`  ${String(n).padStart(6)} × ${title}\n`);
    if (dryRun) {
      for (const c of summary.changes) out.write(`  line ${c.line}: ${c.titles.join('; ')}\n`);
      if (summary.changedRecords > summary.changes.length) out.write(`  … and ${summary.changedRecords - summary.changes.length} more records\n`);
    }
  }
  if (target) out.write(`wrote ${path.relative(process.cwd(), target) || target} (${summary.records.toLocaleString('en-US')} records, in their original order)\n`);
  if (summary.remaining > 0) out.write(`${summary.remaining} problem${summary.remaining === 1 ? '' : 's'} need${summary.remaining === 1 ? 's' : ''} a manual fix: run tunekit validate\n`);
  return 0;
}

/** `data.jsonl` → `data.fixed.jsonl`. */
export function defaultOutput(file: string): string {
  const ext = path.extname(file);
  return path.join(path.dirname(file), `${path.basename(file, ext)}.fixed${ext}`);
}

/**
 * Streams `file` into `outFile` (nothing is written when it is undefined) with every record's
 * safe fixes applied. Only the text not yet copied is held, never the whole file.
 */
export async function fixFile(file: string, settings: Settings, outFile: string | undefined): Promise<FixSummary> {
  const kind = fileKindOf(file, readHead(file, 4096));
  const datasetInfo = datasetInfoFor(file);
  const validator = new DatasetValidator({
    settings,
    formatContext: { fileDir: path.dirname(file), ...(datasetInfo ? { datasetInfo } : {}) },
    services: {},
  });
  const summary: FixSummary = { records: 0, changedRecords: 0, applied: new Map(), changes: [], remaining: 0 };
  const fd = outFile ? fs.openSync(outFile, 'w') : undefined;
  let outBuf = '';
  const write = (s: string): void => {
    if (fd === undefined) return;
    outBuf += s;
    if (outBuf.length >= 1 << 20) flush();
  };
  const flush = (): void => {
    if (fd !== undefined && outBuf) fs.writeSync(fd, outBuf, null, 'utf8');
    outBuf = '';
  };
  // Decoded text not yet written, starting at document offset `base` (BOM excluded, as the splitters count).
  let pending = '';
  let base = 0;
  const onRecord = (r: RawRecord): void => {
    summary.records++;
    write(pending.slice(0, r.offset - base));
    const fixed = fixRecord(validator, r, summary);
    write(fixed);
    pending = pending.slice(r.offset + r.text.length - base);
    base = r.offset + r.text.length;
  };
  const splitter = kind === 'jsonl' ? new JsonlSplitter(onRecord) : new JsonArrayScanner(onRecord, () => undefined);
  const decoder = new StringDecoder('utf8');
  let first = true;
  try {
    for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      let text = decoder.write(chunk);
      if (first && text.length > 0) {
        first = false;
        if (text.charCodeAt(0) === 0xfeff) {
          write('\ufeff');
          text = text.slice(1);
        }
      }
      pending += text;
      splitter.push(text);
    }
    const rest = decoder.end();
    pending += rest;
    splitter.push(rest);
    splitter.end();
    write(pending);
    flush();
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  return summary;
}

/** A record with its safe fixes applied (as many passes as it takes, up to `MAX_PASSES`); unchanged text when there are none. */
function fixRecord(validator: DatasetValidator, record: RawRecord, summary: FixSummary): string {
  let text = record.text;
  const titles: string[] = [];
  let analysis = validator.analyze(record);
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const safe = analysis.issues.flatMap((i) => (i.fixes ?? []).filter((f) => f.safe));
    const picked = pickFixes<Fix, number>(safe, (f) => f.edits, (a, b) => a - b);
    if (picked.length === 0) break;
    const next = applyRecordEdits(
      text,
      picked.flatMap((f) => f.edits),
    );
    // A fix must never turn a parsable record into a broken one; keep the last good text.
    if (!parses(next) && parses(text)) break;
    text = next;
    titles.push(...picked.map((f) => f.title));
    analysis = validator.analyze({ ...record, text });
  }
  summary.remaining += analysis.issues.filter((i) => i.severity === 'error' || i.severity === 'warning').length;
  if (titles.length > 0) {
    summary.changedRecords++;
    for (const t of titles) summary.applied.set(t, (summary.applied.get(t) ?? 0) + 1);
    if (summary.changes.length < 50) summary.changes.push({ line: record.line + 1, titles });
  }
  return text;
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

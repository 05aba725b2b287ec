import * as fs from 'node:fs';
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { convertRecord, type ConvertTarget } from '../core/convert';
import { detectFormat, formatByName, type FormatContext, type JsonObject } from '../core/formats';
import { mediaLocation, refKind } from '../core/media';
import { JsonArrayScanner } from '../core/records/jsonArray';
import { JsonlSplitter } from '../core/records/jsonl';
import { answerFactsRule, answerFactOf, isLabelLike } from '../core/rules/qa';
import type { Settings } from '../core/settings';
import { assignSplit, type SplitPlan } from '../core/split';
import type { FormatName, RawRecord } from '../core/types';
import { DatasetValidator, fileKindOf, type FileKind } from '../core/validator';
import { datasetInfoFor, readHead } from './files';

/**
 * `tunekit split` and `tunekit convert` on files (and the editor commands through the server):
 * both stream the input, so memory holds one chunk plus, for split, one label per record.
 */

export interface StreamOptions {
  signal?: AbortSignal;
  onProgress?: (bytesRead: number, totalBytes: number) => void;
}

/** Calls `onRecord` for every record of a file, streaming. Returns the file's kind. */
export async function forEachRecord(file: string, onRecord: (r: RawRecord) => void, opts: StreamOptions = {}): Promise<FileKind> {
  const kind = fileKindOf(file, readHead(file, 4096));
  const splitter = kind === 'jsonl' ? new JsonlSplitter(onRecord) : new JsonArrayScanner(onRecord, () => undefined);
  const total = fs.statSync(file).size;
  const decoder = new StringDecoder('utf8');
  let read = 0;
  const stream = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (opts.signal?.aborted) {
      stream.destroy();
      throw new Error('cancelled');
    }
    read += chunk.length;
    splitter.push(decoder.write(chunk));
    opts.onProgress?.(read, total);
  }
  splitter.push(decoder.end());
  splitter.end();
  return kind;
}

/** Writes records to a file as JSON Lines or as a JSON array, by kind. */
class RecordWriter {
  private readonly fd: number;
  private count = 0;
  private buffer: string[] = [];
  private size = 0;

  constructor(
    readonly file: string,
    private readonly kind: FileKind,
  ) {
    this.fd = fs.openSync(file, 'w');
    if (kind === 'json') this.write('[\n');
  }

  add(text: string): void {
    if (this.kind === 'json') this.write(this.count === 0 ? text : `,\n${text}`);
    else this.write(`${text}\n`);
    this.count++;
  }

  get records(): number {
    return this.count;
  }

  close(): void {
    if (this.kind === 'json') this.write(this.count === 0 ? ']\n' : '\n]\n');
    this.flush();
    fs.closeSync(this.fd);
  }

  private write(s: string): void {
    this.buffer.push(s);
    this.size += s.length;
    if (this.size > 1 << 20) this.flush();
  }

  private flush(): void {
    if (this.buffer.length) fs.writeSync(this.fd, this.buffer.join(''));
    this.buffer = [];
    this.size = 0;
  }
}

function checkOutputs(input: string, outputs: string[], force: boolean): void {
  const abs = path.resolve(input);
  for (const o of outputs) {
    if (path.resolve(o) === abs) throw new Error(`${o} is the input file; choose another output`);
    if (!force && fs.existsSync(o)) throw new Error(`${o} already exists (use --force to overwrite it)`);
  }
  if (outputs.length === 2 && path.resolve(outputs[0]!) === path.resolve(outputs[1]!)) throw new Error('the train and validation outputs are the same file');
}

// ---------------------------------------------------------------------------------------------
// Split

export interface SplitFileOptions extends StreamOptions {
  settings: Settings;
  /** Fraction (0 < f < 1) or count (≥ 1) of records for validation. */
  validation: number;
  seed: number;
  stratify: boolean;
  trainFile?: string;
  validationFile?: string;
  force?: boolean;
}

export interface SplitFileResult {
  trainFile: string;
  validationFile: string;
  train: number;
  validation: number;
  plan: SplitPlan;
}

/** The default output names: data.jsonl → data.train.jsonl, data.val.jsonl. */
export function splitOutputNames(input: string): { train: string; validation: string } {
  const ext = path.extname(input);
  const base = input.slice(0, input.length - ext.length);
  return { train: `${base}.train${ext || '.jsonl'}`, validation: `${base}.val${ext || '.jsonl'}` };
}

/**
 * Splits a dataset file into train and validation files: deterministic for a seed, stratified by
 * label when the records have labels (QA answers, classification labels), every record (even an
 * invalid one) in exactly one output, byte for byte as in the input.
 */
export async function splitFile(input: string, opts: SplitFileOptions): Promise<SplitFileResult> {
  const names = splitOutputNames(input);
  const trainFile = opts.trainFile ?? names.train;
  const validationFile = opts.validationFile ?? names.validation;
  checkOutputs(input, [trainFile, validationFile], opts.force ?? false);
  // Pass 1: one label per record (only the answer rule runs: no media probing, no other checks).
  const info = datasetInfoFor(input);
  const validator = new DatasetValidator({
    settings: opts.settings,
    rules: [answerFactsRule],
    datasetRules: [],
    formatContext: { fileDir: path.dirname(path.resolve(input)), ...(info ? { datasetInfo: info } : {}) },
  });
  const labels: (string | undefined)[] = [];
  let conversational = 0;
  let turnAnswers = 0;
  const sourceOf: ('field' | 'turn' | undefined)[] = [];
  await forEachRecord(
    input,
    (r) => {
      const a = validator.analyze(r);
      const fact = answerFactOf(a.facts.extra);
      labels.push(fact?.label);
      sourceOf.push(fact?.source);
      if (a.facts.format && !['qa', 'classification', 'alpaca', 'prompt-completion', 'text'].includes(a.facts.format)) conversational++;
      if (fact?.source === 'turn') turnAnswers++;
    },
    opts.signal ? { signal: opts.signal } : {},
  );
  // Labels count when the data is QA/classification (or classification as VQA) and they form a label set.
  const useTurns = conversational > 0 && turnAnswers >= 0.8 * conversational;
  const usable = labels.map((l, i) => (sourceOf[i] === 'field' || (sourceOf[i] === 'turn' && useTurns) ? l : undefined));
  const labelled = usable.filter((l) => l !== undefined);
  const stratify = opts.stratify && labelled.length >= 0.5 * labels.length && isLabelLike(new Set(labelled).size, labelled.length);
  const plan = assignSplit(stratify ? usable : labels.map(() => undefined), { validation: opts.validation, seed: opts.seed });
  // Pass 2: copy each record's text to its side.
  const kind = fileKindOf(input, readHead(input, 4096));
  const train = new RecordWriter(trainFile, kind);
  const val = new RecordWriter(validationFile, kind);
  try {
    await forEachRecord(input, (r) => (plan.sides[r.index] === 1 ? val : train).add(r.text), opts);
  } finally {
    train.close();
    val.close();
  }
  return { trainFile, validationFile, train: train.records, validation: val.records, plan };
}

// ---------------------------------------------------------------------------------------------
// Convert

export interface ConvertFileOptions extends StreamOptions {
  settings: Settings;
  to: ConvertTarget;
  output?: string;
  force?: boolean;
  /** Called for each record that lost something or was skipped (1-based line). */
  onWarning?: (line: number, message: string) => void;
}

export interface ConvertFileResult {
  output: string;
  records: number;
  written: number;
  skipped: number;
  /** Records with at least one warning. */
  lossy: number;
}

export function convertOutputName(input: string, to: ConvertTarget): string {
  const ext = path.extname(input);
  const base = input.slice(0, input.length - ext.length);
  return `${base}.${to.replace('+', '-')}${ext === '.json' ? '.json' : '.jsonl'}`;
}

/**
 * Media references rewritten for a file in another folder: relative paths are resolved the way
 * the validator resolves them (the first candidate that exists, else the dataset's folder) and
 * written relative to the output's folder; absolute paths, URLs and data: URIs stay as they are.
 */
export function mediaRewriter(ctx: FormatContext, outDir: string): (ref: string, record?: JsonObject) => string {
  return (ref, record) => {
    if (refKind(ref) !== 'file' || path.isAbsolute(ref) || /^file:/i.test(ref)) return ref;
    const candidates = mediaLocation(ref, ctx, record).candidates;
    const found = candidates.find((c) => fs.existsSync(c)) ?? (ctx.fileDir ? path.resolve(ctx.fileDir, ref) : candidates[0]);
    if (!found) return ref;
    const rel = path.relative(outDir, found).split(path.sep).join('/');
    return rel === '' ? ref : rel;
  };
}

/** Converts a dataset file to another format, record by record, streaming. */
export async function convertFile(input: string, opts: ConvertFileOptions): Promise<ConvertFileResult> {
  const output = opts.output ?? convertOutputName(input, opts.to);
  checkOutputs(input, [output], opts.force ?? false);
  const info = datasetInfoFor(input);
  const ctx: FormatContext = { settings: opts.settings, fileDir: path.dirname(path.resolve(input)), ...(info ? { datasetInfo: info } : {}) };
  const rewrite = mediaRewriter(ctx, path.dirname(path.resolve(output)));
  const outKind: FileKind = output.toLowerCase().endsWith('.json') ? 'json' : 'jsonl';
  const writer = new RecordWriter(output, outKind);
  const result: ConvertFileResult = { output, records: 0, written: 0, skipped: 0, lossy: 0 };
  const warn = (line: number, msg: string): void => opts.onWarning?.(line, msg);
  try {
    await forEachRecord(
      input,
      (r) => {
        result.records++;
        const line = r.line + 1;
        let value: unknown;
        try {
          value = JSON.parse(r.text);
        } catch {
          result.skipped++;
          warn(line, 'invalid JSON; the record was skipped (tunekit validate shows where)');
          return;
        }
        if (!value || typeof value !== 'object' || Array.isArray(value)) {
          result.skipped++;
          warn(line, 'not a JSON object; the record was skipped');
          return;
        }
        const obj = value as JsonObject;
        const format: FormatName | undefined = opts.settings.format !== 'auto' ? formatByName(opts.settings.format).name : detectFormat(obj, ctx).best?.name;
        if (!format) {
          result.skipped++;
          warn(line, 'the record matches no known format; it was skipped');
          return;
        }
        const converted = convertRecord(obj, format, opts.to, ctx, (ref) => rewrite(ref, obj));
        if (converted.warnings.length) result.lossy++;
        for (const w of converted.warnings) warn(line, w);
        if (!converted.value) {
          result.skipped++;
          return;
        }
        writer.add(JSON.stringify(converted.value));
        result.written++;
      },
      opts,
    );
  } finally {
    writer.close();
  }
  return result;
}

import * as fs from 'node:fs';
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { analyzeBatch, analyzeJsonlChunk, type BatchOutput, type JsonlChunkOutput } from '../core/batch';
import type { RecordAnalysis } from '../core/analyze';
import type { ArrayProblem } from '../core/records/jsonArray';
import { JsonArrayScanner } from '../core/records/jsonArray';
import type { RuleServices } from '../core/rules';
import type { Settings } from '../core/settings';
import type { RawRecord } from '../core/types';
import { DatasetValidator, fileKindOf, type ValidationResult, type ValidationSession } from '../core/validator';
import { datasetInfoFor, readHead } from './files';
import { inBatchScope, probeFromOptions } from './mediaProbe';
import { settlerOf } from './services';
import { NodeSpill, serializeExtra } from './spill';
import { tokenCounterFor } from './tokenizers';
import { WorkerPool, type JobConfig, type PoolJob, type WorkerServiceOptions } from './workerPool';

export interface ValidateFileOptions {
  settings: Settings;
  /** Services for analysis on this thread (tests inject fakes); worker threads build theirs from `serviceOptions`. */
  services?: RuleServices;
  /** Analyse in these worker threads (files under `minWorkerBytes` are still analysed here). */
  workers?: WorkerPool;
  /** How workers (and this thread, when `services` is not given) build their services. */
  serviceOptions?: WorkerServiceOptions;
  /** Files smaller than this are analysed on this thread even when `workers` is given (default 1 MiB). */
  minWorkerBytes?: number;
  /** Files at least this big keep their records' `extra` facts in a temporary file, not in memory (default 64 MiB). */
  spillBytes?: number;
  /** Called with bytes read so far, for progress. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
  signal?: AbortSignal;
  /** The workspace folder holding the file: relative media paths never resolve above it. */
  rootDir?: string;
  /** Record the facts only the dataset report reads (`ValidatorOptions.reportFacts`). */
  reportFacts?: boolean;
}

/** Files from this size on keep per-record `extra` facts on disk (see node/spill.ts). */
const SPILL_BYTES = 64 << 20;
/** Bytes read at a time; also the size of a JSON Lines batch. */
const CHUNK_BYTES = 1 << 20;
/** A JSON array batch closes at this many records or characters. */
const BATCH_RECORDS = 2048;
const BATCH_CHARS = 1 << 20;

/** Where batches are analysed: on this thread or in the pool's workers. Same code, same answers. */
interface Executor {
  readonly parallelism: number;
  jsonl(buf: Buffer, length: number, atFileStart: boolean): Promise<JsonlChunkOutput>;
  records(records: RawRecord[]): Promise<BatchOutput>;
  end(): void;
}

class LocalExecutor implements Executor {
  readonly parallelism = 1;
  private readonly settle: (() => Promise<void>) | undefined;
  private readonly probe: unknown;

  constructor(
    private readonly analyze: (r: RawRecord) => RecordAnalysis,
    services: RuleServices,
    private readonly serialize: ((extra: Record<string, unknown>) => Uint8Array) | undefined,
  ) {
    this.settle = settlerOf(services);
    this.probe = services['mediaProbe'];
  }

  jsonl(buf: Buffer, length: number, atFileStart: boolean): Promise<JsonlChunkOutput> {
    const text = buf.toString('utf8', 0, length);
    return inBatchScope(this.probe, this.analyze, this.settle, (analyze, settle) => analyzeJsonlChunk(text, atFileStart, analyze, settle, this.serialize));
  }

  records(records: RawRecord[]): Promise<BatchOutput> {
    return inBatchScope(this.probe, this.analyze, this.settle, (analyze, settle) => analyzeBatch(records, analyze, settle, this.serialize));
  }

  end(): void {}
}

class PoolExecutor implements Executor {
  readonly parallelism: number;

  constructor(
    pool: WorkerPool,
    private readonly job: PoolJob,
  ) {
    this.parallelism = pool.size;
  }

  jsonl(buf: Buffer, length: number, atFileStart: boolean): Promise<JsonlChunkOutput> {
    // `buf` owns its ArrayBuffer (allocUnsafeSlow), so handing it over copies nothing.
    return this.job.jsonl(buf.buffer as ArrayBuffer, length, atFileStart);
  }

  records(records: RawRecord[]): Promise<BatchOutput> {
    return this.job.records(records.map((r) => r.text));
  }

  end(): void {
    this.job.end();
  }
}

/**
 * Services built from plain options (what a worker does; here for analysis on this thread). The
 * media probe is the streaming one unless `streaming: false`: its memory does not grow with the file.
 */
export function servicesFromOptions(opts: WorkerServiceOptions = {}): RuleServices {
  const probe = probeFromOptions({ streaming: true, ...opts });
  return probe ? { mediaProbe: probe } : {};
}

/** Batches in flight, kept in file order and placed in that order; a file problem waits its turn between batches. */
type Pending = { kind: 'batch'; out: Promise<unknown>; place: (out: unknown) => void } | { kind: 'problem'; problem: ArrayProblem };

/** Queues a batch: `place` runs with its output once every earlier batch has been placed. */
type Enqueue = <T>(out: Promise<T>, place: (out: T) => void) => void;

/**
 * Validates a dataset file from disk, streaming: the file is never held in memory, only a few
 * chunks and compact per-record summaries (a 1 GB JSON array stays within a few hundred MB).
 * With `workers`, batches of records are analysed in worker threads while this thread reads,
 * splits and keeps the order. Used by the CLI and by the server for files too large to open.
 */
export async function validateFile(file: string, opts: ValidateFileOptions): Promise<ValidationResult> {
  const head = readHead(file, 4096);
  const kind = fileKindOf(file, head);
  const datasetInfo = datasetInfoFor(file);
  const formatContext = {
    fileDir: path.dirname(path.resolve(file)),
    ...(opts.rootDir ? { rootDir: opts.rootDir } : {}),
    ...(datasetInfo ? { datasetInfo } : {}),
  };
  const total = fs.statSync(file).size;
  const useWorkers = opts.workers !== undefined && total >= (opts.minWorkerBytes ?? CHUNK_BYTES);
  // The token counter follows the settings (tunekit.tokenizer, target) unless the caller brings
  // one, on this thread as in the workers (validateWorker.ts), so both paths count alike.
  const given = opts.services ?? servicesFromOptions(opts.serviceOptions);
  const services = useWorkers ? {} : 'tokenCounter' in given ? given : { ...given, tokenCounter: tokenCounterFor(opts.settings, formatContext.rootDir).counter };
  const validator = new DatasetValidator({ settings: opts.settings, formatContext, services, reportFacts: opts.reportFacts === true });
  const session = validator.session(false);
  const spill = total >= (opts.spillBytes ?? SPILL_BYTES) ? new NodeSpill() : undefined;
  session.compactSummaries(spill);
  let executor: Executor;
  if (useWorkers) {
    const config: JobConfig = { settings: opts.settings, formatContext, services: { streaming: true, ...opts.serviceOptions }, serializeExtras: spill !== undefined, reportFacts: opts.reportFacts === true };
    executor = new PoolExecutor(opts.workers!, opts.workers!.startJob(config));
  } else {
    executor = new LocalExecutor((r) => validator.analyze(r), services, spill ? serializeExtra : undefined);
  }
  const pending: Pending[] = [];
  const maxInFlight = executor.parallelism * 2;
  let inFlight = 0;
  const enqueue: Enqueue = (out, place) => {
    // Marks the promise handled now; its failure surfaces when its turn comes in `drain`.
    out.catch(() => undefined);
    pending.push({ kind: 'batch', out, place: place as (out: unknown) => void });
    inFlight++;
  };
  const drain = async (keep: number): Promise<void> => {
    while (inFlight > keep || (pending.length > 0 && pending[0]!.kind === 'problem')) {
      const item = pending.shift()!;
      if (item.kind === 'problem') session.fileProblem(item.problem);
      else {
        inFlight--;
        item.place(await item.out);
      }
    }
  };
  try {
    if (kind === 'jsonl') await readJsonl(file, total, executor, session, enqueue, () => drain(maxInFlight - 1), opts);
    else await readArray(file, total, executor, session, enqueue, (p) => pending.push({ kind: 'problem', problem: p }), () => drain(maxInFlight - 1), opts);
    await drain(0);
    while (pending.length > 0) await drain(0);
  } catch (err) {
    spill?.close();
    throw err;
  } finally {
    executor.end();
  }
  // A big file's dataset rules need memory on this thread; idle workers would keep theirs meanwhile.
  if (useWorkers && spill) opts.workers!.releaseIdle();
  return session.end();
}

function checkCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new Error('cancelled');
}

/**
 * JSON Lines: chunks of raw bytes cut after their last line break go to the executor whole (the
 * worker decodes and splits them), so this thread does almost nothing per record.
 */
async function readJsonl(
  file: string,
  total: number,
  executor: Executor,
  session: ValidationSession,
  enqueue: Enqueue,
  backpressure: () => Promise<void>,
  opts: ValidateFileOptions,
): Promise<void> {
  const fh = await fs.promises.open(file, 'r');
  let baseLine = 0;
  let atFileStart = true;
  let carry: Buffer | undefined;
  let read = 0;
  // Where a chunk starts is known once the chunks before it are placed (the worker counts the
  // line breaks); placing happens in file order, so `baseLine` is right each time.
  const place = (out: JsonlChunkOutput): void => {
    const lines = out.lines;
    for (let k = 0; k < lines.length; k++) lines[k]! += baseLine;
    baseLine += out.lineBreaks;
    session.pushBatch(out, lines, new Float64Array(lines.length));
  };
  try {
    for (;;) {
      checkCancelled(opts.signal);
      const carried = carry?.length ?? 0;
      const buf = Buffer.allocUnsafeSlow(carried + CHUNK_BYTES);
      if (carry) carry.copy(buf, 0);
      const { bytesRead } = await fh.read(buf, carried, CHUNK_BYTES, null);
      read += bytesRead;
      const filled = carried + bytesRead;
      if (bytesRead === 0) {
        if (filled > 0) enqueueChunk(buf, filled);
        break;
      }
      const nl = buf.lastIndexOf(10, filled - 1);
      if (nl < 0) {
        // A line longer than a chunk: keep reading until it ends.
        carry = buf.subarray(0, filled);
        continue;
      }
      carry = filled > nl + 1 ? Buffer.from(buf.subarray(nl + 1, filled)) : undefined;
      enqueueChunk(buf, nl + 1);
      opts.onProgress?.(read, total);
      await backpressure();
    }
  } finally {
    await fh.close();
  }
  opts.onProgress?.(read, total);

  function enqueueChunk(buf: Buffer, length: number): void {
    enqueue(executor.jsonl(buf, length, atFileStart), place);
    atFileStart = false;
  }
}

/**
 * JSON arrays: this thread scans the text for element boundaries (a string-aware bracket
 * scanner; strings are skipped with indexOf) and ships batches of element texts.
 */
async function readArray(
  file: string,
  total: number,
  executor: Executor,
  session: ValidationSession,
  enqueue: Enqueue,
  problem: (p: ArrayProblem) => void,
  backpressure: () => Promise<void>,
  opts: ValidateFileOptions,
): Promise<void> {
  let batch: RawRecord[] = [];
  let chars = 0;
  const flush = (): void => {
    if (batch.length === 0) return;
    const records = batch;
    batch = [];
    chars = 0;
    const line = new Float64Array(records.length);
    const column = new Float64Array(records.length);
    for (let k = 0; k < records.length; k++) {
      line[k] = records[k]!.line;
      column[k] = records[k]!.column;
    }
    enqueue(executor.records(records), (out) => session.pushBatch(out, line, column));
  };
  const scanner = new JsonArrayScanner(
    (r) => {
      batch.push(r);
      chars += r.text.length;
      if (batch.length >= BATCH_RECORDS || chars >= BATCH_CHARS) flush();
    },
    (p) => {
      flush();
      problem(p);
    },
  );
  const decoder = new StringDecoder('utf8');
  let read = 0;
  const stream = fs.createReadStream(file, { highWaterMark: CHUNK_BYTES });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      checkCancelled(opts.signal);
      read += chunk.length;
      scanner.push(decoder.write(chunk));
      opts.onProgress?.(read, total);
      await backpressure();
    }
  } finally {
    stream.destroy();
  }
  scanner.push(decoder.end());
  scanner.end();
  flush();
}

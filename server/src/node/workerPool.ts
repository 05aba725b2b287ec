import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { RecordAnalysis } from '../core/analyze';
import type { BatchOutput, JsonlChunkOutput } from '../core/batch';
import type { FormatContext } from '../core/formats';
import type { Settings } from '../core/settings';
import type { NodeMediaProbeOptions } from './mediaProbe';

/**
 * A pool of worker threads that analyse batches of records (server/src/node/validateWorker.ts,
 * bundled as server/out/validateWorker.js). The main thread reads and splits the file and keeps
 * the order; workers do the per-record work, which is where the time goes. Used by
 * `tunekit validate` and by the language server for files too big to open.
 */

/** Plain-data description of the services a worker builds for itself (services hold functions and caches, which cannot cross threads). */
export interface WorkerServiceOptions {
  /** Media probing (stat + header read per referenced file); false turns it off. */
  mediaProbe?: NodeMediaProbeOptions | false;
  /**
   * A probe for streaming validation (`StreamingMediaProbe`): a small cache, each batch waiting for
   * its own probes, so memory does not grow with the file. Without it the worker's probe keeps
   * every answer (`NodeMediaProbe`), which suits the editor's prefill of an open document.
   */
  streaming?: boolean;
}

/** What a worker needs to analyse a file's records. */
export interface JobConfig {
  settings: Settings;
  formatContext: Omit<FormatContext, 'settings'>;
  services: WorkerServiceOptions;
  /** Serialise `extra` facts (the file's summaries keep them on disk, see node/spill.ts). */
  serializeExtras?: boolean;
  /** Record the facts only the dataset report reads (`ValidatorOptions.reportFacts`). */
  reportFacts?: boolean;
}

export type WorkerRequest =
  | { type: 'job'; job: number; config: JobConfig }
  | { type: 'endJob'; job: number }
  | { type: 'jsonl'; job: number; seq: number; bytes: ArrayBuffer; length: number; atFileStart: boolean }
  | { type: 'records'; job: number; seq: number; texts: string[] }
  | { type: 'analyses'; job: number; seq: number; texts: string[] };

export type WorkerOutput = BatchOutput | JsonlChunkOutput | RecordAnalysis[];

export type WorkerReply = { seq: number; ok: true; out: WorkerOutput } | { seq: number; ok: false; error: string };

interface Pending {
  resolve: (out: WorkerOutput) => void;
  reject: (err: Error) => void;
}

/** Young-generation size of a worker's heap (see PoolWorker). */
const WORKER_YOUNG_GENERATION_MB = 8;

class PoolWorker {
  readonly worker: Worker;
  readonly pending = new Map<number, Pending>();
  readonly jobs = new Set<number>();
  dead = false;

  constructor(script: string, onDeath: (w: PoolWorker) => void) {
    // A smaller young generation than V8's default: a worker's live data is one batch, and the
    // default lets each worker's heap (and the CLI's resident memory) grow tens of MB for nothing.
    this.worker = new Worker(script, { resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
    this.worker.unref();
    this.worker.on('message', (reply: WorkerReply) => {
      const p = this.pending.get(reply.seq);
      if (!p) return;
      this.pending.delete(reply.seq);
      if (this.pending.size === 0) this.worker.unref();
      if (reply.ok) p.resolve(reply.out);
      else p.reject(new Error(reply.error));
    });
    const die = (err: Error): void => {
      if (this.dead) return;
      this.dead = true;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      onDeath(this);
    };
    this.worker.on('error', die);
    this.worker.on('exit', (code) => die(new Error(`validation worker exited (code ${code})`)));
  }

  post(msg: WorkerRequest, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(msg, transfer);
  }
}

let nextSeq = 1;
let nextJob = 1;

/** Where the bundled worker script is: beside this bundle (server/out), else under the repository's server/out (tests, bench). */
export function workerScriptPath(): string {
  const beside = path.join(__dirname, 'validateWorker.js');
  if (fs.existsSync(beside)) return beside;
  for (let d = __dirname; d !== path.dirname(d); d = path.dirname(d)) {
    const candidate = path.join(d, 'server', 'out', 'validateWorker.js');
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error('validateWorker.js not found: run `npm run build`');
}

/**
 * For batch processes (the CLI), before the pool starts: V8 lets a heap grow to a few times its
 * live data before a full collection, and streaming validation allocates and drops about the whole
 * file, so each thread's heap would sit on ~100 MB of garbage (a worker's live data is one batch,
 * ~25 MB). A smaller growing factor collects sooner, for a few percent more CPU. The flag is
 * process-wide (every thread's heap), so the language server, a long-lived process sharing its
 * heap with the editor features, does not set it.
 */
export function limitHeapGrowth(percent = HEAP_GROWING_PERCENT): void {
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}

/** See `limitHeapGrowth`: a heap grows by half its live data before the next full collection. */
const HEAP_GROWING_PERCENT = 50;

/** How many workers use the machine's cores. */
export function defaultWorkerCount(): number {
  return Math.max(1, Math.min(os.availableParallelism(), 16));
}

export class WorkerPool {
  private static sharedPool: WorkerPool | undefined;
  private readonly workers: PoolWorker[] = [];
  /** Jobs started and not ended. */
  private readonly active = new Set<number>();
  private closed = false;

  constructor(
    readonly size = defaultWorkerCount(),
    private readonly script = workerScriptPath(),
  ) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`WorkerPool: size must be a positive integer, got ${size}`);
  }

  /** One pool per process; idle workers do not keep the process alive. */
  static shared(): WorkerPool {
    if (!WorkerPool.sharedPool || WorkerPool.sharedPool.closed) WorkerPool.sharedPool = new WorkerPool();
    return WorkerPool.sharedPool;
  }

  /** Starts a job (one file): returns its id for `submit` and `endJob`. */
  startJob(config: JobConfig): PoolJob {
    if (this.closed) throw new Error('WorkerPool is closed');
    const id = nextJob++;
    this.active.add(id);
    return new PoolJob(this, id, config);
  }

  /** Worker threads running now. */
  get liveWorkers(): number {
    return this.workers.length;
  }

  /**
   * Stops the workers if no job is running, giving their memory (heaps, caches: tens of MB each)
   * back; the next batch starts fresh ones. `validateFile` calls it after a big file's last batch,
   * before the dataset rules run on this thread and need memory of their own.
   */
  releaseIdle(): void {
    if (this.active.size > 0) return;
    for (const w of this.workers.splice(0)) {
      w.dead = true;
      void w.worker.terminate();
    }
  }

  /** Stops every worker. */
  async close(): Promise<void> {
    this.closed = true;
    const all = this.workers.splice(0);
    await Promise.all(all.map((w) => w.worker.terminate()));
  }

  /** @internal Sends a batch to the least busy worker, with the job's config first if that worker has not seen it. */
  dispatch(job: number, config: JobConfig, msg: WorkerRequest & { seq: number }, transfer: ArrayBuffer[]): Promise<WorkerOutput> {
    const w = this.pick();
    if (!w.jobs.has(job)) {
      w.jobs.add(job);
      w.post({ type: 'job', job, config });
    }
    return new Promise((resolve, reject) => {
      w.pending.set(msg.seq, { resolve, reject });
      // While a batch is out the worker keeps the process alive, or a CLI awaiting it would just exit.
      w.worker.ref();
      w.post(msg, transfer);
    });
  }

  /** @internal */
  finish(job: number): void {
    this.active.delete(job);
    for (const w of this.workers) {
      if (w.jobs.delete(job)) w.post({ type: 'endJob', job });
    }
  }

  private pick(): PoolWorker {
    if (this.workers.length < this.size) {
      const w = new PoolWorker(this.script, (dead) => {
        const i = this.workers.indexOf(dead);
        if (i >= 0) this.workers.splice(i, 1);
      });
      this.workers.push(w);
      return w;
    }
    let best = this.workers[0]!;
    for (const w of this.workers) if (w.pending.size < best.pending.size) best = w;
    return best;
  }
}

/** One file's batches on the pool. */
export class PoolJob {
  constructor(
    private readonly pool: WorkerPool,
    readonly id: number,
    private readonly config: JobConfig,
  ) {}

  /** Analyses a chunk of JSON Lines (raw bytes ending at a line break); the buffer is transferred. */
  jsonl(bytes: ArrayBuffer, length: number, atFileStart: boolean): Promise<JsonlChunkOutput> {
    const seq = nextSeq++;
    return this.pool.dispatch(this.id, this.config, { type: 'jsonl', job: this.id, seq, bytes, length, atFileStart }, [bytes]) as Promise<JsonlChunkOutput>;
  }

  /** Analyses records given by their text. */
  records(texts: string[]): Promise<BatchOutput> {
    const seq = nextSeq++;
    return this.pool.dispatch(this.id, this.config, { type: 'records', job: this.id, seq, texts }, []) as Promise<BatchOutput>;
  }

  /** The records' whole analyses (for a validator's cache: the editor's big documents, see prefill.ts). */
  analyses(texts: string[]): Promise<RecordAnalysis[]> {
    const seq = nextSeq++;
    return this.pool.dispatch(this.id, this.config, { type: 'analyses', job: this.id, seq, texts }, []) as Promise<RecordAnalysis[]>;
  }

  end(): void {
    this.pool.finish(this.id);
  }
}

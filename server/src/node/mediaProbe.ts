import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MediaInfo, MediaProbe } from '../core/media';
import { refKind } from '../core/media';
import { sniffDataUri, sniffMedia } from './mediaSniff';

export interface NodeMediaProbeOptions {
  /** Probes running at once (file handles). */
  concurrency?: number;
  /** Cached answers kept (least recently stored are dropped first). */
  maxEntries?: number;
  /** Milliseconds before a remote fetch is given up (only when fetching is allowed at all). */
  fetchTimeoutMs?: number;
}

/** First read of a file; JPEGs whose size marker sits behind big EXIF blocks get one longer read. */
const HEAD_BYTES = 64 * 1024;
const LONG_HEAD_BYTES = 1024 * 1024;

/**
 * The Node implementation of `MediaProbe`: stat + a header read per file, answers cached by
 * absolute path, a bounded number of probes in flight. Listeners hear when a batch of probes
 * has finished, so the language server can refresh diagnostics; `invalidate` (file watcher)
 * forgets answers about changed files.
 */
/** Runs jobs at most `concurrency` at a time, the others in the order they came (file handles are finite). */
class Limiter {
  private readonly waiting: (() => void)[] = [];
  private running = 0;

  constructor(private readonly concurrency: number) {}

  /** Jobs waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  run<T>(job: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = (): void => {
        this.running++;
        job()
          .then(resolve, reject)
          .finally(() => {
            this.running--;
            this.waiting.shift()?.();
          });
      };
      if (this.running < this.concurrency) start();
      else this.waiting.push(start);
    });
  }
}

export class NodeMediaProbe implements MediaProbe {
  private readonly cache = new Map<string, MediaInfo>();
  private readonly inflight = new Map<string, Promise<MediaInfo>>();
  private readonly chains = new Map<string, Promise<{ target: string; info: MediaInfo } | undefined>>();
  private finishedSinceIdle = 0;
  private readonly listeners = new Set<() => void>();
  private idleWaiters: (() => void)[] = [];
  private readonly limiter: Limiter;
  private readonly maxEntries: number;
  private readonly fetchTimeoutMs: number;
  /** Files actually read (tests check caching with it). */
  readonly stats = { probes: 0 };

  constructor(opts: NodeMediaProbeOptions = {}) {
    this.limiter = new Limiter(opts.concurrency ?? 32);
    this.maxEntries = opts.maxEntries ?? 200_000;
    this.fetchTimeoutMs = opts.fetchTimeoutMs ?? 10_000;
  }

  peek(target: string): MediaInfo | undefined {
    if (refKind(target) === 'data') return sniffDataUri(target);
    return this.cache.get(keyOf(target));
  }

  probe(target: string): Promise<MediaInfo> {
    if (refKind(target) === 'data') return Promise.resolve(sniffDataUri(target));
    const key = keyOf(target);
    const hit = this.cache.get(key);
    if (hit) return Promise.resolve(hit);
    const running = this.inflight.get(key);
    if (running) return running;
    const p: Promise<MediaInfo> = this.schedule(() => (refKind(target) === 'remote' ? this.probeRemote(target) : probeFile(key))).then(
      (info): MediaInfo => this.store(key, p, info),
      (err: unknown): MediaInfo => this.store(key, p, { status: 'unreadable', problem: `could not be read (${(err as Error).message})` }),
    );
    this.inflight.set(key, p);
    return p;
  }

  /**
   * Probes `targets` one after the other until one exists (the candidates of one reference): only
   * the folders tried before the file is found are probed and cached. Counts as one job for
   * `settled()` and for change notifications.
   */
  probeFirst(targets: readonly string[]): Promise<{ target: string; info: MediaInfo } | undefined> {
    const key = targets.join('\0');
    const running = this.chains.get(key);
    if (running) return running;
    const chain = (async () => {
      for (const t of targets) {
        const info = await this.probe(t);
        if (info.status !== 'missing') return { target: t, info };
      }
      return undefined;
    })().finally(() => {
      this.chains.delete(key);
      this.checkIdle();
    });
    this.chains.set(key, chain);
    return chain;
  }

  /** Resolves when no probe is running or queued. */
  settled(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private get idle(): boolean {
    return this.inflight.size === 0 && this.chains.size === 0;
  }

  /** Called after a batch of probes has finished (nothing left in flight). */
  onDidChange(listener: () => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /**
   * Forgets what is known about these paths and anything below them (a folder that moved).
   * Returns true when a cached answer was dropped, i.e. diagnostics may change.
   */
  invalidate(paths?: readonly string[]): boolean {
    if (!paths) {
      const any = this.cache.size > 0;
      this.cache.clear();
      this.inflight.clear();
      return any;
    }
    let dropped = false;
    for (const p of paths) {
      const key = keyOf(p);
      const prefix = key.endsWith(path.sep) ? key : key + path.sep;
      for (const k of this.cache.keys()) {
        if (k === key || k.startsWith(prefix)) {
          this.cache.delete(k);
          dropped = true;
        }
      }
      for (const k of this.inflight.keys()) if (k === key || k.startsWith(prefix)) this.inflight.delete(k);
    }
    return dropped;
  }

  private store(key: string, p: Promise<MediaInfo>, info: MediaInfo): MediaInfo {
    // An invalidation while the probe ran makes its answer stale: keep it out of the cache.
    if (this.inflight.get(key) === p) {
      this.inflight.delete(key);
      this.cache.set(key, info);
      if (this.cache.size > this.maxEntries) {
        const oldest = this.cache.keys().next().value;
        if (oldest !== undefined) this.cache.delete(oldest);
      }
    }
    this.finishedSinceIdle++;
    this.checkIdle();
    return info;
  }

  private checkIdle(): void {
    if (this.idle) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
      if (this.finishedSinceIdle > 0) {
        this.finishedSinceIdle = 0;
        for (const l of [...this.listeners]) {
          try {
            l();
          } catch {
            // A listener's failure must not stop the others.
          }
        }
      }
    }
  }

  private schedule<T>(job: () => Promise<T>): Promise<T> {
    this.stats.probes++;
    return this.limiter.run(job);
  }

  private probeRemote(url: string): Promise<MediaInfo> {
    return probeRemote(url, this.fetchTimeoutMs);
  }
}

export interface StreamingMediaProbeOptions {
  /** Probes running at once (file handles). */
  concurrency?: number;
  /** Answers kept across batches, least recently used dropped first (a batch keeps its own answers until it closes). */
  maxEntries?: number;
  /** Milliseconds before a remote fetch is given up (only when fetching is allowed at all). */
  fetchTimeoutMs?: number;
}

/** One shared answer for every missing file: most answers of a dataset with missing images are this one. */
const MISSING: MediaInfo = Object.freeze({ status: 'missing' as const });

type FirstFound = { target: string; info: MediaInfo } | undefined;

/**
 * A batch's view of a `StreamingMediaProbe`: every answer the batch asked for or was given stays
 * visible to it until `close()`, however many answers other batches store meanwhile, so the
 * records re-analysed after `settled()` find all of theirs. Analysis that should be counted for
 * the batch runs inside `run` (analysis is synchronous; probe chains remember their scope).
 */
export class ProbeScope {
  /** @internal */
  readonly answers = new Map<string, MediaInfo>();
  /** @internal */
  readonly chains = new Map<string, Promise<FirstFound>>();
  private jobs = 0;
  private waiters: (() => void)[] = [];
  private closed = false;

  constructor(private readonly owner: StreamingMediaProbe) {}

  /** Runs `fn` with this scope current: the probe's peeks and probes are counted for this batch. */
  run<T>(fn: () => T): T {
    return this.owner.within(this, fn);
  }

  /** Resolves when every probe job started in this scope has finished. */
  settled(): Promise<void> {
    if (this.jobs === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Forgets the batch's answers (the shared cache keeps its recent ones). */
  close(): void {
    this.closed = true;
    this.answers.clear();
    this.chains.clear();
  }

  /** @internal */
  keep(key: string, info: MediaInfo): void {
    if (!this.closed) this.answers.set(key, info);
  }

  /** @internal Counts a job until it finishes. */
  track(job: Promise<unknown>): void {
    this.jobs++;
    const done = (): void => {
      if (--this.jobs > 0) return;
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    };
    job.then(done, done);
  }
}

/**
 * The media probe of streaming validation (`validateFile`, the CLI): a file mostly names each
 * image once, so instead of a big cache of every answer it keeps a small least-recently-used one
 * shared by the batches, and each batch (`scope()`) keeps the answers it needs until it is done.
 * Memory is then bounded by the batches in flight, never by the file: a batch starts at most one
 * probe job per reference, and its worker waits for them (`ProbeScope.settled`) before it takes
 * on more. Same answers as `NodeMediaProbe` (same stat and header reads); no change events and no
 * invalidation, which only the editor needs.
 */
export class StreamingMediaProbe implements MediaProbe {
  private readonly cache = new Map<string, MediaInfo>();
  private readonly inflight = new Map<string, Promise<MediaInfo>>();
  private current: ProbeScope | undefined;
  /** Jobs started outside any scope (a caller that uses the probe unscoped, with `settled()`). */
  private readonly unscoped: ProbeScope;
  private readonly limiter: Limiter;
  private readonly maxEntries: number;
  private readonly fetchTimeoutMs: number;
  /** Files actually read, and the high-water marks that tests hold to their bounds. */
  readonly stats = { probes: 0, peakCached: 0, peakQueued: 0, peakInflight: 0 };

  constructor(opts: StreamingMediaProbeOptions = {}) {
    this.limiter = new Limiter(opts.concurrency ?? 32);
    this.maxEntries = opts.maxEntries ?? 4096;
    this.fetchTimeoutMs = opts.fetchTimeoutMs ?? 10_000;
    this.unscoped = new ProbeScope(this);
  }

  /** A new batch's scope; close it when the batch is done. */
  scope(): ProbeScope {
    return new ProbeScope(this);
  }

  /** @internal */
  within<T>(scope: ProbeScope, fn: () => T): T {
    const outer = this.current;
    this.current = scope;
    try {
      return fn();
    } finally {
      this.current = outer;
    }
  }

  /** Answers kept across batches now. */
  get cachedEntries(): number {
    return this.cache.size;
  }

  peek(target: string): MediaInfo | undefined {
    if (refKind(target) === 'data') return sniffDataUri(target);
    const key = keyOf(target);
    const scope = this.current;
    const mine = scope?.answers.get(key);
    if (mine) return mine;
    const shared = this.recall(key);
    if (shared) scope?.keep(key, shared);
    return shared;
  }

  probe(target: string): Promise<MediaInfo> {
    const scope = this.current;
    const job = this.probeIn(scope, target);
    (scope ?? this.unscoped).track(job);
    return job;
  }

  /** Probes `targets` in order until one exists (the candidates of one reference): one job for the scope. */
  probeFirst(targets: readonly string[]): Promise<FirstFound> {
    const scope = this.current;
    const owner = scope ?? this.unscoped;
    const key = targets.join('\0');
    const running = owner.chains.get(key);
    if (running) return running;
    const chain = (async (): Promise<FirstFound> => {
      for (const t of targets) {
        const info = await this.probeIn(scope, t);
        if (info.status !== 'missing') return { target: t, info };
      }
      return undefined;
    })();
    owner.chains.set(key, chain);
    owner.track(chain);
    void chain.then(() => owner.chains.delete(key));
    return chain;
  }

  /** Resolves when no job started outside a scope is running. */
  settled(): Promise<void> {
    return this.unscoped.settled();
  }

  private probeIn(scope: ProbeScope | undefined, target: string): Promise<MediaInfo> {
    if (refKind(target) === 'data') return Promise.resolve(sniffDataUri(target));
    const key = keyOf(target);
    const known = scope?.answers.get(key) ?? this.recall(key);
    if (known) {
      scope?.keep(key, known);
      return Promise.resolve(known);
    }
    let job = this.inflight.get(key);
    if (!job) {
      job = this.schedule(() => (refKind(target) === 'remote' ? probeRemote(target, this.fetchTimeoutMs) : probeFile(key))).then(
        (info) => this.remember(key, info),
        (err: unknown) => this.remember(key, { status: 'unreadable', problem: `could not be read (${(err as Error).message})` }),
      );
      this.inflight.set(key, job);
      this.stats.peakInflight = Math.max(this.stats.peakInflight, this.inflight.size);
    }
    // The batch keeps the answer before its chain goes on, so its re-analysis finds it.
    return scope
      ? job.then((info) => {
          scope.keep(key, info);
          return info;
        })
      : job;
  }

  /** A cached answer, marked as recently used. */
  private recall(key: string): MediaInfo | undefined {
    const info = this.cache.get(key);
    if (info !== undefined) {
      this.cache.delete(key);
      this.cache.set(key, info);
    }
    return info;
  }

  private remember(key: string, found: MediaInfo): MediaInfo {
    const info = found.status === 'missing' && Object.keys(found).length === 1 ? MISSING : found;
    this.inflight.delete(key);
    if (this.maxEntries > 0) {
      this.cache.delete(key);
      this.cache.set(key, info);
      if (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
      this.stats.peakCached = Math.max(this.stats.peakCached, this.cache.size);
    }
    return info;
  }

  private schedule<T>(job: () => Promise<T>): Promise<T> {
    this.stats.probes++;
    const p = this.limiter.run(job);
    this.stats.peakQueued = Math.max(this.stats.peakQueued, this.limiter.queued);
    return p;
  }

}

/** What plain options (a worker's, see workerPool.ts) describe: undefined when probing is off. */
export function probeFromOptions(opts: { mediaProbe?: NodeMediaProbeOptions | false; streaming?: boolean }): MediaProbe | undefined {
  if (opts.mediaProbe === false) return undefined;
  const o = opts.mediaProbe ?? {};
  return opts.streaming ? new StreamingMediaProbe(o) : new NodeMediaProbe(o);
}

/**
 * Runs one batch's analysis (`work` gets the analyse and settle functions to use). With a
 * `StreamingMediaProbe` the batch has its own scope: it waits for its own probes only and keeps
 * its answers until it is done. Any other probe is waited for as a whole (`settle`).
 */
export async function inBatchScope<R, A, T>(
  probe: unknown,
  analyze: (r: R) => A,
  settle: (() => Promise<void>) | undefined,
  work: (analyze: (r: R) => A, settle: (() => Promise<void>) | undefined) => Promise<T>,
): Promise<T> {
  if (!(probe instanceof StreamingMediaProbe)) return work(analyze, settle);
  const scope = probe.scope();
  try {
    return await work(
      (r) => scope.run(() => analyze(r)),
      () => scope.settled(),
    );
  } finally {
    scope.close();
  }
}

async function probeRemote(url: string, fetchTimeoutMs: number): Promise<MediaInfo> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), fetchTimeoutMs);
  try {
    const res = await fetch(url, { headers: { Range: `bytes=0-${HEAD_BYTES - 1}` }, signal: controller.signal, redirect: 'follow' });
    if (res.status === 404 || res.status === 410) return { status: 'missing' };
    if (!res.ok) return { status: 'unreadable', problem: `could not be fetched (HTTP ${res.status})` };
    const total = sizeFromHeaders(res.headers);
    const bytes = await readAtMost(res, HEAD_BYTES);
    controller.abort();
    const info = sniffMedia(bytes, total !== undefined && bytes.length >= total);
    delete info.needMore;
    if (info.status === 'unreadable' && info.problem === undefined) info.problem = `has a ${String(info.type).toUpperCase()} signature but no readable size in its first ${HEAD_BYTES / 1024} KB`;
    return total !== undefined ? { ...info, size: total } : info;
  } catch (err) {
    return { status: 'unreadable', problem: `could not be fetched (${(err as Error).name === 'AbortError' ? 'timed out' : (err as Error).message})` };
  } finally {
    clearTimeout(timer);
  }
}

function keyOf(target: string): string {
  return refKind(target) === 'remote' ? target : path.resolve(target);
}

async function probeFile(file: string): Promise<MediaInfo> {
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { status: 'missing' };
    return { status: 'unreadable', problem: `cannot be read (${code ?? String(err)})` };
  }
  if (st.isDirectory()) return { status: 'unreadable', problem: 'is a folder, not a file' };
  if (st.size === 0) return { status: 'unreadable', size: 0, problem: 'is empty (0 bytes)' };
  const first = await readHead(file, Math.min(st.size, HEAD_BYTES));
  let info = sniffMedia(first, first.length >= st.size);
  if (info.needMore) {
    const longer = await readHead(file, Math.min(st.size, LONG_HEAD_BYTES));
    info = sniffMedia(longer, longer.length >= st.size);
    if (info.needMore) info = { status: 'unreadable', type: info.type, kind: 'image', problem: `has a ${String(info.type).toUpperCase()} signature but no pixel size in its first ${LONG_HEAD_BYTES / 1024 / 1024} MB` };
  }
  delete info.needMore;
  return { ...info, size: st.size };
}

async function readHead(file: string, bytes: number): Promise<Uint8Array> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const buf = new Uint8Array(bytes);
    let off = 0;
    while (off < bytes) {
      const { bytesRead } = await fh.read(buf, off, bytes - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    return buf.subarray(0, off);
  } finally {
    await fh.close();
  }
}

function sizeFromHeaders(h: Headers): number | undefined {
  const range = h.get('content-range');
  const m = range ? /\/(\d+)\s*$/.exec(range) : null;
  if (m) return Number(m[1]);
  const len = h.get('content-length');
  return len !== null && /^\d+$/.test(len) ? Number(len) : undefined;
}

async function readAtMost(res: Response, max: number): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array(0);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  while (n < max) {
    const next = (await reader.read()) as { done: boolean; value?: Uint8Array };
    if (next.done || !next.value) break;
    chunks.push(next.value);
    n += next.value.length;
  }
  await reader.cancel().catch(() => undefined);
  const out = new Uint8Array(Math.min(n, max));
  let off = 0;
  for (const c of chunks) {
    const take = Math.min(c.length, out.length - off);
    out.set(c.subarray(0, take), off);
    off += take;
    if (off >= out.length) break;
  }
  return out;
}

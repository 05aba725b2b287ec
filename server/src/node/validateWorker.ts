import { parentPort } from 'node:worker_threads';
import { analyzeBatch, analyzeJsonlChunk, analyzeSettled } from '../core/batch';
import type { RuleServices } from '../core/rules';
import { DatasetValidator } from '../core/validator';
import type { RawRecord } from '../core/types';
import { inBatchScope, probeFromOptions } from './mediaProbe';
import { settlerOf } from './services';
import { serializeExtra } from './spill';
import { tokenCounterFor } from './tokenizers';
import type { JobConfig, WorkerReply, WorkerRequest, WorkerServiceOptions } from './workerPool';

/**
 * Worker thread entry (bundled as server/out/validateWorker.js): analyses the batches the pool
 * sends, with a validator per job (file) and services built here from plain options.
 */

interface Job {
  validator: DatasetValidator;
  probe: unknown;
  settle: (() => Promise<void>) | undefined;
  serialize: ((extra: Record<string, unknown>) => Uint8Array) | undefined;
}

const jobs = new Map<number, Job>();
/** Services live as long as the worker, so a media probe's cache serves every file of a run. */
const servicesByOptions = new Map<string, RuleServices>();

export function buildServices(opts: WorkerServiceOptions): RuleServices {
  const key = JSON.stringify(opts);
  let services = servicesByOptions.get(key);
  if (!services) {
    const probe = probeFromOptions(opts);
    services = probe ? { mediaProbe: probe } : {};
    servicesByOptions.set(key, services);
  }
  return services;
}

function startJob(config: JobConfig): Job {
  // The token counter follows the settings (tunekit.tokenizer, target), as on the main thread.
  const services: RuleServices = { ...buildServices(config.services), tokenCounter: tokenCounterFor(config.settings, config.formatContext.rootDir).counter };
  const validator = new DatasetValidator({ settings: config.settings, formatContext: config.formatContext, services, reportFacts: config.reportFacts === true });
  return { validator, probe: services['mediaProbe'], settle: settlerOf(services), serialize: config.serializeExtras ? serializeExtra : undefined };
}

async function handle(msg: WorkerRequest): Promise<WorkerReply | undefined> {
  switch (msg.type) {
    case 'job':
      jobs.set(msg.job, startJob(msg.config));
      return undefined;
    case 'endJob':
      jobs.delete(msg.job);
      return undefined;
    case 'jsonl': {
      const job = jobs.get(msg.job);
      if (!job) return { seq: msg.seq, ok: false, error: `unknown job ${msg.job}` };
      const text = Buffer.from(msg.bytes, 0, msg.length).toString('utf8');
      const out = await inBatchScope(job.probe, (r: RawRecord) => job.validator.analyze(r), job.settle, (analyze, settle) => analyzeJsonlChunk(text, msg.atFileStart, analyze, settle, job.serialize));
      return { seq: msg.seq, ok: true, out };
    }
    case 'records': {
      const job = jobs.get(msg.job);
      if (!job) return { seq: msg.seq, ok: false, error: `unknown job ${msg.job}` };
      const records: RawRecord[] = msg.texts.map((text, index) => ({ index, offset: 0, line: 0, column: 0, text }));
      const out = await inBatchScope(job.probe, (r: RawRecord) => job.validator.analyze(r), job.settle, (analyze, settle) => analyzeBatch(records, analyze, settle, job.serialize));
      return { seq: msg.seq, ok: true, out };
    }
    case 'analyses': {
      const job = jobs.get(msg.job);
      if (!job) return { seq: msg.seq, ok: false, error: `unknown job ${msg.job}` };
      const records: RawRecord[] = msg.texts.map((text, index) => ({ index, offset: 0, line: 0, column: 0, text }));
      const out = await inBatchScope(job.probe, (r: RawRecord) => job.validator.analyze(r), job.settle, (analyze, settle) => analyzeSettled(records, analyze, settle));
      return { seq: msg.seq, ok: true, out };
    }
  }
}

if (parentPort) {
  const port = parentPort;
  // Each batch is handled as it arrives: while one waits for media probes (I/O), the next one's
  // records are analysed. Replies may overtake each other; the pool matches them by `seq`.
  port.on('message', (msg: WorkerRequest) => {
    void handle(msg)
      .catch((err: unknown): WorkerReply | undefined =>
        'seq' in msg ? { seq: msg.seq, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) } : undefined,
      )
      .then((reply) => {
        if (!reply) return;
        // Typed arrays are transferred, not copied.
        const transfer: ArrayBuffer[] = [];
        if (reply.ok && !Array.isArray(reply.out)) {
          transfer.push(reply.out.facts.num.buffer as ArrayBuffer);
          if (reply.out.facts.extraBytes) transfer.push(reply.out.facts.extraBytes.buffer as ArrayBuffer, reply.out.facts.extraEnds!.buffer as ArrayBuffer);
          if ('lines' in reply.out) transfer.push(reply.out.lines.buffer as ArrayBuffer);
        }
        port.postMessage(reply, transfer);
      });
  });
}

import type { DatasetValidator, LineSource } from '../core/validator';
import { WorkerPool } from './workerPool';

/**
 * A big JSON Lines document opened in the editor is analysed in worker threads before its first
 * validation: the records go to the pool in batches, their analyses (media probes settled) fill
 * the validator's cache, and the validation that follows finds every record there. Typing later
 * re-analyses only the lines that changed, on the server's own thread.
 */

/** Below this many records without a cached analysis, the server's thread analyses them itself. */
export const PREFILL_MIN_RECORDS = 1000;
const BATCH_RECORDS = 512;

const running = new WeakMap<DatasetValidator, Promise<boolean>>();
/** Validators that had their prefill: once per validator (per opened document and settings), so a failed one is not retried forever. */
const done = new WeakSet<DatasetValidator>();

/**
 * Starts (or joins) the prefill of `doc`'s records; undefined when there is nothing worth sending
 * to workers (most records are cached already), so the caller validates right away.
 */
export function prefillLines(validator: DatasetValidator, doc: LineSource, pool: () => WorkerPool = () => WorkerPool.shared()): Promise<boolean> | undefined {
  const inFlight = running.get(validator);
  if (inFlight) return inFlight;
  if (done.has(validator)) return undefined;
  // Cheap test first: a warm cache holds about as many records as the document has lines.
  if (validator.cachedRecords >= doc.lineCount - PREFILL_MIN_RECORDS) return undefined;
  const texts: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < doc.lineCount; i++) {
    let text = doc.lineText(i);
    if (i === 0 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.trim() === '' || seen.has(text) || validator.isCached(text)) continue;
    seen.add(text);
    texts.push(text);
  }
  if (texts.length < PREFILL_MIN_RECORDS) return undefined;
  done.add(validator);
  const work = run(validator, texts, pool()).finally(() => running.delete(validator));
  running.set(validator, work);
  return work;
}

async function run(validator: DatasetValidator, texts: string[], pool: WorkerPool): Promise<boolean> {
  const formatContext: Partial<typeof validator.formatContext> = { ...validator.formatContext };
  delete formatContext.settings;
  const job = pool.startJob({ settings: validator.settings, formatContext, services: {}, reportFacts: validator.reportFacts });
  try {
    const batches: Promise<void>[] = [];
    for (let i = 0; i < texts.length; i += BATCH_RECORDS) {
      const part = texts.slice(i, i + BATCH_RECORDS);
      batches.push(job.analyses(part).then((analyses) => validator.addAnalyses(part, analyses)));
    }
    await Promise.all(batches);
    return true;
  } catch {
    // The workers could not help (one died, say): the validation analyses the records itself.
    return true;
  } finally {
    job.end();
  }
}

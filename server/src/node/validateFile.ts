import * as fs from 'node:fs';
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { RuleServices } from '../core/rules';
import type { Settings } from '../core/settings';
import { DatasetValidator, fileKindOf, type ValidationResult } from '../core/validator';
import { JsonArrayScanner } from '../core/records/jsonArray';
import { JsonlSplitter } from '../core/records/jsonl';
import type { RawRecord } from '../core/types';
import { datasetInfoFor, readHead } from './files';
import { defaultServices, settlerOf } from './services';

export interface ValidateFileOptions {
  settings: Settings;
  services?: RuleServices;
  /** Called with bytes read so far, for progress. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
  signal?: AbortSignal;
  /** The workspace folder holding the file: relative media paths never resolve above it. */
  rootDir?: string;
}

/**
 * Validates a dataset file from disk, streaming: the file is never held in memory, only one chunk
 * and the per-record summaries. Used by the CLI and by the server for files too large to open.
 */
export async function validateFile(file: string, opts: ValidateFileOptions): Promise<ValidationResult> {
  const head = readHead(file, 4096);
  const kind = fileKindOf(file, head);
  const datasetInfo = datasetInfoFor(file);
  const services = opts.services ?? defaultServices();
  const validator = new DatasetValidator({
    settings: opts.settings,
    formatContext: { fileDir: path.dirname(path.resolve(file)), ...(opts.rootDir ? { rootDir: opts.rootDir } : {}), ...(datasetInfo ? { datasetInfo } : {}) },
    services,
  });
  const session = validator.session(false);
  // Records of one chunk are analysed together; those waiting for media probes are analysed again
  // once the probes finish, so the CLI gets complete answers while memory stays one chunk.
  const batch: RawRecord[] = [];
  const settle = settlerOf(services);
  const flush = async (): Promise<void> => {
    const analyses = batch.map((r) => validator.analyze(r));
    for (let round = 0; settle && round < 3 && analyses.some((a) => a.volatile); round++) {
      await settle();
      analyses.forEach((a, i) => {
        if (a.volatile) analyses[i] = validator.analyze(batch[i]!);
      });
    }
    batch.forEach((r, i) => session.push(r, analyses[i]));
    batch.length = 0;
  };
  const collect = (r: RawRecord): void => {
    batch.push(r);
  };
  const splitter = kind === 'jsonl' ? new JsonlSplitter(collect) : new JsonArrayScanner(collect, (p) => session.fileProblem(p));
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
    await flush();
    opts.onProgress?.(read, total);
  }
  splitter.push(decoder.end());
  splitter.end();
  await flush();
  return session.end();
}

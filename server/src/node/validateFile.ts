import * as fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { RuleServices } from '../core/rules';
import type { Settings } from '../core/settings';
import { DatasetValidator, fileKindOf, type ValidationResult } from '../core/validator';
import { JsonArrayScanner } from '../core/records/jsonArray';
import { JsonlSplitter } from '../core/records/jsonl';
import { datasetInfoFor, readHead } from './files';

export interface ValidateFileOptions {
  settings: Settings;
  services?: RuleServices;
  /** Called with bytes read so far, for progress. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
  signal?: AbortSignal;
}

/**
 * Validates a dataset file from disk, streaming: the file is never held in memory, only one chunk
 * and the per-record summaries. Used by the CLI and by the server for files too large to open.
 */
export async function validateFile(file: string, opts: ValidateFileOptions): Promise<ValidationResult> {
  const head = readHead(file, 4096);
  const kind = fileKindOf(file, head);
  const datasetInfo = datasetInfoFor(file);
  const validator = new DatasetValidator({
    settings: opts.settings,
    formatContext: datasetInfo ? { datasetInfo } : {},
    ...(opts.services ? { services: opts.services } : {}),
  });
  const session = validator.session(false);
  const push = session.push.bind(session);
  const splitter = kind === 'jsonl' ? new JsonlSplitter(push) : new JsonArrayScanner(push, (p) => session.fileProblem(p));
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
  return session.end();
}

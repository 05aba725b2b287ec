import * as fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { DEFAULT_SETTINGS } from '../server/src/core/settings';
import type { ValidationResult } from '../server/src/core/validator';
import { validateFile } from '../server/src/node/validateFile';
import type { WorkerPool } from '../server/src/node/workerPool';

/**
 * The throughput figure: `tunekit validate`'s engine (validateFile, as the CLI calls it, with
 * every rule that needs no disk access on and media probing off) against the bare minimum a
 * loader does, a JSON.parse-per-record loop over the same file, in the same process.
 */

/** Reads the file in 1 MiB chunks and JSON.parses each line: what `datasets`/json.loads-per-line loaders cost. */
export async function bareJsonlLoop(file: string): Promise<number> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let records = 0;
  const parseLine = (line: string): void => {
    if (line.length === 0) return;
    try {
      JSON.parse(line);
    } catch {
      // A broken line costs the loader the same attempt.
    }
    records++;
  };
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    const text = pending + decoder.write(chunk);
    let from = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
      parseLine(text.slice(from, nl));
      from = nl + 1;
    }
    pending = text.slice(from);
  }
  parseLine(pending + decoder.end());
  return records;
}

/**
 * For a JSON array the bare loader is one `JSON.parse` of the whole file (json.load); V8 strings
 * stop at 512 MiB, so bigger files have no bare baseline.
 */
export function bareArrayParse(file: string): number {
  const value: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  return Array.isArray(value) ? value.length : 0;
}

export function tunekitValidate(file: string, pool: WorkerPool | undefined): Promise<ValidationResult> {
  return validateFile(file, {
    settings: DEFAULT_SETTINGS,
    serviceOptions: { mediaProbe: false },
    ...(pool ? { workers: pool } : {}),
  });
}

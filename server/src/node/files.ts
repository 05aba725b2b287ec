import * as fs from 'node:fs';
import * as path from 'node:path';
import { findDatasetInfoEntry } from '../core/datasetInfo';
import type { DatasetInfoEntry } from '../core/formats';
import { detectFormat } from '../core/formats';
import { DEFAULT_SETTINGS } from '../core/settings';

/**
 * File-system helpers shared by the CLI and the language server (Node only; the core stays free
 * of I/O).
 */

/** The `dataset_info.json` entry registering `file`, looked up in the file's folder and its parent. */
export function datasetInfoFor(file: string): DatasetInfoEntry | undefined {
  let dir = path.dirname(path.resolve(file));
  for (let depth = 0; depth < 2; depth++) {
    const candidate = path.join(dir, 'dataset_info.json');
    try {
      const registry: unknown = JSON.parse(fs.readFileSync(candidate, 'utf8'));
      const entry = findDatasetInfoEntry(registry, path.relative(dir, path.resolve(file)), dir);
      if (entry) return entry;
    } catch {
      // No registry here, or an unreadable one: the data is validated without it.
    }
    dir = path.dirname(dir);
  }
  return undefined;
}

/** Reads the first bytes of a file (for sniffing). */
export function readHead(file: string, bytes = 65536): string {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const n = fs.readSync(fd, buf, 0, bytes, 0);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Whether a `.json` file is a dataset: a JSON array whose first element is an object of a known
 * format. Registries (`dataset_info.json`), configs and package files are not.
 */
export function looksLikeJsonDataset(head: string): boolean {
  const start = head.search(/[^\s\ufeff]/);
  if (start < 0 || head[start] !== '[') return false;
  const objStart = head.indexOf('{', start);
  if (objStart < 0) return false;
  const between = head.slice(start + 1, objStart);
  if (between.trim() !== '') return false;
  // Find the end of the first element by bracket depth (strings aware), within the head.
  let depth = 0;
  let inStr = false;
  for (let i = objStart; i < head.length; i++) {
    const c = head[i];
    if (inStr) {
      if (c === '\\') i++;
      else if (c === '"') inStr = false;
    } else if (c === '"') inStr = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) {
        try {
          const first: unknown = JSON.parse(head.slice(objStart, i + 1));
          if (!first || typeof first !== 'object' || Array.isArray(first)) return false;
          return detectFormat(first as Record<string, unknown>, { settings: DEFAULT_SETTINGS }).candidates.length > 0;
        } catch {
          return false;
        }
      }
    }
  }
  // The first element is longer than the head: an array of objects is most likely a dataset.
  return true;
}

function safeHead(p: string): string {
  try {
    return readHead(p);
  } catch {
    return '[';
  }
}

const SKIP_DIRS = new Set(['node_modules', '.git', '.tunekit', 'out', '.vscode-test']);

/** Expands folders into the dataset files inside them (sorted, for stable output). */
export function collectDatasetFiles(paths: string[]): { files: string[]; errors: string[] } {
  const files: string[] = [];
  const errors: string[] = [];
  const walk = (p: string, explicit: boolean): void => {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch (err) {
      errors.push(`${p}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : String(err)}`);
      return;
    }
    if (st.isDirectory()) {
      if (!explicit && SKIP_DIRS.has(path.basename(p))) return;
      for (const name of fs.readdirSync(p).sort()) walk(path.join(p, name), false);
      return;
    }
    const lower = p.toLowerCase();
    if (explicit && lower.endsWith('.json') && !looksLikeJsonDataset(safeHead(p))) {
      errors.push(`${p}: not a dataset (a .json dataset is an array of records such as [{"messages": [...]}, ...]); skipped`);
      return;
    }
    if (explicit) files.push(p);
    else if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) files.push(p);
    else if (lower.endsWith('.json') && path.basename(lower) !== 'dataset_info.json') {
      try {
        if (looksLikeJsonDataset(readHead(p))) files.push(p);
      } catch {
        // Unreadable files surface when validated explicitly.
      }
    }
  };
  for (const p of paths) walk(p, true);
  return { files, errors };
}

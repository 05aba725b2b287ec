import type { DatasetInfoEntry } from './formats';

/**
 * Finds the LLaMA-Factory `dataset_info.json` entry that registers `fileName` (a path relative to
 * the dataset_info.json's folder). Returns undefined for anything malformed: a broken registry
 * must not stop validation of the data itself.
 */
export function findDatasetInfoEntry(registry: unknown, fileName: string, dir: string): DatasetInfoEntry | undefined {
  if (!registry || typeof registry !== 'object' || Array.isArray(registry)) return undefined;
  const norm = (p: string): string => p.replace(/\\/g, '/').replace(/^\.\//, '');
  for (const [name, raw] of Object.entries(registry as Record<string, unknown>)) {
    if (!raw || typeof raw !== 'object') continue;
    const entry = raw as Record<string, unknown>;
    if (typeof entry['file_name'] !== 'string' || norm(entry['file_name']) !== norm(fileName)) continue;
    const out: DatasetInfoEntry = { name, dir };
    const f = entry['formatting'];
    if (f === 'alpaca' || f === 'sharegpt' || f === 'openai') out.formatting = f;
    if (entry['ranking'] === true) out.ranking = true;
    if (isStringMap(entry['columns'])) out.columns = entry['columns'];
    if (isStringMap(entry['tags'])) out.tags = entry['tags'];
    return out;
  }
  return undefined;
}

function isStringMap(v: unknown): v is Record<string, string> {
  return !!v && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}

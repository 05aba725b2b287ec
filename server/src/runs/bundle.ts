import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Settings } from '../core/settings';
import { convertDataset, sha256File, type MediaCopy } from './convert';
import { planRecipe, type BundledDataset, type RecipePlan, type ResumePlan, type TrainStep } from './recipes';
import { runScript } from './runScript';
import type { RunConfig } from './schema';
import type { Word } from './shellWords';

/**
 * The bundle: a local folder that mirrors the remote working folder of a config, and is synced
 * to it with rsync. It lives in `.tunekit/bundles/<name>/tree/`:
 *
 *     data/<n>-<name>.jsonl      converted datasets (+ dataset_info.json for LLaMA-Factory)
 *     media/…                    the media the records reference (paths rewritten to these)
 *     runs/<id>/run.sh           the wrapper, the trainer config, MANIFEST.sha256
 *
 * Files are rewritten only when their content changes, so their modification times stay put and
 * rsync's quick check makes a re-launch of unchanged data cost a directory listing. Conversions
 * are cached by the source file's size and mtime, hashes by the bundle file's.
 */

/** Bumped when the conversion output changes, so cached conversions are redone. */
const CONVERTER_VERSION = 1;

export const MANIFEST_NAME = 'MANIFEST.sha256';

export interface BackendHooks {
  /** The command run.sh runs for a step (e.g. `srun … torchrun …` on Slurm). */
  wrapStep(step: TrainStep): Word[];
  /** Template lines run.sh runs before the steps. */
  prelude?: string[];
  /** Backend-specific environment (non-secret), e.g. CUDA_VISIBLE_DEVICES. */
  env?: Record<string, string>;
  /** Echo the progress file into the log (for backends followed through their logs). */
  echoProgress?: boolean;
  /** Extra files in the run folder (job.sh, task.yaml), given the finished plan. */
  extraFiles?(ctx: { runDir: string; plan: RecipePlan; treeDir: string }): { path: string; content: string; mode?: number }[];
}

export interface BundleInput {
  config: RunConfig;
  configPath: string;
  /** Project root: `.tunekit/` lives here, and media below it keep their relative paths. */
  root: string;
  runId: string;
  settings: Settings;
  gpusPerNode: number;
  hooks: BackendHooks;
  resume?: ResumePlan;
  /** Seconds between TERM and KILL when cancelling. */
  graceSeconds?: number;
  onProgress?: (message: string) => void;
}

export interface Bundle {
  /** The local mirror of the remote working folder. */
  treeDir: string;
  runDir: string;
  datasets: (BundledDataset & { source: string })[];
  plan: RecipePlan;
  /** Every file listed in the manifest, relative to treeDir. */
  files: string[];
  manifest: string;
  mediaFiles: number;
  missingMedia: string[];
}

interface BundleCache {
  conversions: Record<string, { key: string; records: number; skipped: number; media: MediaCopy[]; missingMedia: string[] }>;
  hashes: Record<string, { size: number; mtimeMs: number; sha256: string }>;
}

export function bundleDirFor(root: string, name: string): string {
  return path.join(root, '.tunekit', 'bundles', name);
}

export async function buildBundle(input: BundleInput): Promise<Bundle> {
  const { config, runId } = input;
  const base = bundleDirFor(input.root, config.name);
  const treeDir = path.join(base, 'tree');
  const cacheFile = path.join(base, 'cache.json');
  const cache = readCache(cacheFile);
  const runDir = `runs/${runId}`;
  fs.mkdirSync(path.join(treeDir, runDir), { recursive: true });

  // 1. Data: convert each dataset (cached by source size + mtime).
  const configDir = path.dirname(path.resolve(input.configPath));
  const mediaMap = new Map<string, string>();
  const datasets: Bundle['datasets'] = [];
  const media = new Map<string, string>();
  const missingMedia: string[] = [];
  for (let i = 0; i < config.datasets.length; i++) {
    const d = config.datasets[i]!;
    const source = path.resolve(configDir, d.path);
    const stem = path.basename(source).replace(/\.(jsonl|ndjson|json)$/i, '').replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 40) || 'data';
    const file = `data/${i}-${stem}.jsonl`;
    const st = fs.statSync(source);
    const key = JSON.stringify([CONVERTER_VERSION, source, st.size, st.mtimeMs, input.settings.format, input.settings.mediaRoot, input.root]);
    let entry = cache.conversions[file];
    if (!entry || entry.key !== key || !fs.existsSync(path.join(treeDir, file))) {
      input.onProgress?.(`Converting ${path.relative(configDir, source) || source}`);
      const r = await convertDataset(source, path.join(treeDir, file), { settings: input.settings, rootDir: input.root, mediaMap });
      entry = { key, records: r.records, skipped: r.skipped, media: r.media, missingMedia: r.missingMedia };
      cache.conversions[file] = entry;
    }
    for (const m of entry.media) {
      media.set(m.target, m.source);
      mediaMap.set(m.source, m.target);
    }
    missingMedia.push(...entry.missingMedia);
    const ds: Bundle['datasets'][number] = { name: `tk${i}_${stem}`, file, ratio: d.ratio, records: entry.records, source };
    if (d.stage) ds.stage = d.stage;
    datasets.push(ds);
  }

  // 2. Media: copy what changed, keeping the source's mtime so rsync sees the same file next time.
  for (const [target, source] of media) {
    const dest = path.join(treeDir, target);
    let src: fs.Stats;
    try {
      src = fs.statSync(source);
    } catch {
      missingMedia.push(source);
      continue;
    }
    const cur = statOrUndefined(dest);
    if (cur && cur.size === src.size && Math.abs(cur.mtimeMs - src.mtimeMs) < 1) continue;
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.copyFileSync(source, dest);
    fs.utimesSync(dest, src.atime, src.mtime);
  }

  // 3. The recipe's files, run.sh and the backend's files.
  const plan = planRecipe({ config, runDir, datasets, gpusPerNode: input.gpusPerNode, ...(input.resume ? { resume: input.resume } : {}) });
  const written = new Set<string>();
  const put = (rel: string, content: string, mode?: number): void => {
    writeIfChanged(path.join(treeDir, rel), content, mode);
    written.add(rel);
  };
  for (const f of plan.files) put(f.path, f.content);
  const script = runScript({
    runId,
    runDir,
    steps: plan.steps.map((s) => ({ label: s.label, words: input.hooks.wrapStep(s) })),
    env: { ...plan.env, ...(input.hooks.env ?? {}), ...config.env },
    ...(plan.pythonModule ? { pythonModule: plan.pythonModule } : {}),
    ...(config.pythonEnv ? { pythonEnv: config.pythonEnv } : {}),
    ...(input.hooks.prelude ? { prelude: input.hooks.prelude } : {}),
    ...(input.hooks.echoProgress ? { echoProgress: plan.progressFile } : {}),
    ...(input.graceSeconds !== undefined ? { graceSeconds: input.graceSeconds } : {}),
  });
  put(`${runDir}/run.sh`, script, 0o755);
  for (const f of input.hooks.extraFiles?.({ runDir, plan, treeDir }) ?? []) put(f.path, f.content, f.mode);

  // 4. Drop what this bundle no longer holds (old data, media, other runs' local copies).
  const keep = new Set<string>([...datasets.map((d) => d.file), ...media.keys(), ...written]);
  removeStale(treeDir, '', keep, runDir);

  // 5. The manifest the remote side checks before anything starts.
  const files = [...keep].filter((f) => fs.existsSync(path.join(treeDir, f))).sort();
  const lines: string[] = [];
  for (const rel of files) lines.push(`${hashOf(treeDir, rel, cache)}  ${rel}`);
  const manifest = `${runDir}/${MANIFEST_NAME}`;
  writeIfChanged(path.join(treeDir, manifest), lines.join('\n') + '\n');
  writeCache(cacheFile, cache);
  return { treeDir, runDir, datasets, plan, files, manifest, mediaFiles: media.size, missingMedia: [...new Set(missingMedia)] };
}

function hashOf(treeDir: string, rel: string, cache: BundleCache): string {
  const st = fs.statSync(path.join(treeDir, rel));
  const hit = cache.hashes[rel];
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.sha256;
  const sha256 = sha256File(path.join(treeDir, rel));
  cache.hashes[rel] = { size: st.size, mtimeMs: st.mtimeMs, sha256 };
  return sha256;
}

function writeIfChanged(file: string, content: string, mode?: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let same = false;
  try {
    same = fs.readFileSync(file, 'utf8') === content;
  } catch {
    same = false;
  }
  if (!same) fs.writeFileSync(file, content);
  if (mode !== undefined) fs.chmodSync(file, mode);
}

function statOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch {
    return undefined;
  }
}

function removeStale(treeDir: string, rel: string, keep: ReadonlySet<string>, runDir: string): void {
  const dir = path.join(treeDir, rel);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const child = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      if (child === runDir) continue;
      removeStale(treeDir, child, keep, runDir);
      if (fs.readdirSync(path.join(treeDir, child)).length === 0) fs.rmdirSync(path.join(treeDir, child));
    } else if (!keep.has(child)) fs.rmSync(path.join(treeDir, child));
  }
}

function readCache(file: string): BundleCache {
  try {
    const c = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<BundleCache>;
    return { conversions: c.conversions ?? {}, hashes: c.hashes ?? {} };
  } catch {
    return { conversions: {}, hashes: {} };
  }
}

function writeCache(file: string, cache: BundleCache): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(cache));
}

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Settings } from '../core/settings';
import type { Finding } from '../core/validator';
import { validateFile } from '../node/validateFile';
import { lineColumn, parseRunConfig } from './configYaml';
import { describeResources, type RunConfig } from './schema';

/**
 * Pre-flight: everything that must hold before any byte is uploaded or any GPU time is spent.
 * Every dataset is validated with the same core as the editor; errors stop the launch (warnings
 * too, unless `tunekit.runs.allowWarnings`), and datasets too small to fine-tune on are refused
 * with the reason (a few dozen records "succeed" in most UIs and teach the model nothing).
 */

export interface DatasetCheck {
  /** As written in the config. */
  path: string;
  abs: string;
  exists: boolean;
  records: number;
  errors: number;
  warnings: number;
  /** The first problems, formatted `line:col severity code message`. */
  problems: string[];
  format?: string;
  /** A clean result reused from `.tunekit/cache/preflight.json` (the file has not changed since). */
  cached?: boolean;
}

export interface PreflightReport {
  configPath: string;
  config?: RunConfig;
  /** What runs where: backend, nodes, GPUs. */
  resources?: string;
  datasets: DatasetCheck[];
  /** Reasons the launch is refused; empty when it may go ahead. */
  blockers: string[];
  /** Shown, not blocking. */
  notes: string[];
  ok: boolean;
}

export interface PreflightOptions {
  settings: Settings;
  /** Project root (media paths never resolve above it). */
  root?: string;
  /** Secret names that have a value; the rest are blockers. */
  availableSecrets?: ReadonlySet<string>;
  /** Skip the too-small check (relaunching a run that already passed it). */
  skipSizeCheck?: boolean;
}

const SHOWN_PROBLEMS = 5;

export function readRunConfig(configPath: string): { config?: RunConfig; problems: string[] } {
  let text: string;
  try {
    text = fs.readFileSync(configPath, 'utf8');
  } catch (e) {
    return { problems: [`Cannot read ${configPath}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`] };
  }
  const parsed = parseRunConfig(text);
  const problems = parsed.problems.filter((p) => p.severity === 'error').map((p) => `${lineColumn(parsed, p.start)} ${p.message}`);
  return parsed.config && problems.length === 0 ? { config: parsed.config, problems: [] } : { problems };
}

export async function preflight(configPath: string, opts: PreflightOptions): Promise<PreflightReport> {
  const abs = path.resolve(configPath);
  const report: PreflightReport = { configPath: abs, datasets: [], blockers: [], notes: [], ok: false };
  const { config, problems } = readRunConfig(abs);
  if (!config) {
    report.blockers.push(...problems.map((p) => `${path.basename(abs)}:${p}`));
    return report;
  }
  report.config = config;
  report.resources = describeResources(config.backend);
  const configDir = path.dirname(abs);
  const settings = opts.settings;
  const cacheFile = opts.root ? path.join(opts.root, '.tunekit', 'cache', 'preflight.json') : undefined;
  const cache = cacheFile ? readCache(cacheFile) : undefined;
  for (const d of config.datasets) {
    const file = path.resolve(configDir, d.path);
    const check: DatasetCheck = { path: d.path, abs: file, exists: fs.existsSync(file), records: 0, errors: 0, warnings: 0, problems: [] };
    report.datasets.push(check);
    if (!check.exists) {
      report.blockers.push(`${d.path}: no such file (paths are relative to ${path.basename(abs)}).`);
      continue;
    }
    const key = cacheKey(file, settings);
    const hit = key ? cache?.[file] : undefined;
    if (hit && hit.key === key) {
      Object.assign(check, { records: hit.records, cached: true }, hit.format ? { format: hit.format } : {});
      continue;
    }
    let findings: Finding[];
    try {
      const result = await validateFile(file, { settings, ...(opts.root ? { rootDir: opts.root } : {}) });
      findings = result.findings;
      check.records = result.records;
      if (result.format) check.format = result.format;
    } catch (e) {
      report.blockers.push(`${d.path}: could not be read: ${(e as Error).message}`);
      continue;
    }
    for (const f of findings) {
      if (f.severity === 'error') check.errors++;
      else if (f.severity === 'warning') check.warnings++;
    }
    check.problems = findings
      .filter((f) => f.severity === 'error' || f.severity === 'warning')
      .slice(0, SHOWN_PROBLEMS)
      .map((f) => `${f.range.start.line + 1}:${f.range.start.character + 1} ${f.severity} ${f.code} ${f.message}`);
    if (check.errors > 0) report.blockers.push(`${d.path}: ${plural(check.errors, 'error')} (fix them first; they are listed in the Problems view and by \`tunekit validate\`).`);
    else if (check.warnings > 0) {
      if (settings.runs.allowWarnings) report.notes.push(`${d.path}: ${plural(check.warnings, 'warning')}, allowed by tunekit.runs.allowWarnings.`);
      else report.blockers.push(`${d.path}: ${plural(check.warnings, 'warning')}; fix them or set tunekit.runs.allowWarnings to launch anyway.`);
    }
    // Only clean results are reused: a problem must be re-checked, since its cause (a missing
    // image, a setting) may have been fixed without touching the dataset file.
    if (cache && key && check.errors === 0 && check.warnings === 0) cache[file] = { key, records: check.records, ...(check.format ? { format: check.format } : {}) };
  }
  if (cache && cacheFile) writeCache(cacheFile, cache);
  if (!opts.skipSizeCheck && config.recipe !== 'smoke') sizeChecks(config, report, settings);
  const missingSecrets = config.secrets.filter((s) => !opts.availableSecrets?.has(s));
  if (missingSecrets.length) report.blockers.push(`Secret${missingSecrets.length > 1 ? 's' : ''} ${missingSecrets.join(', ')} ${missingSecrets.length > 1 ? 'have' : 'has'} no value; set ${missingSecrets.length > 1 ? 'them' : 'it'} with "Tunekit: Set Secret" (or in the environment for the CLI).`);
  report.ok = report.blockers.length === 0;
  return report;
}

function sizeChecks(config: RunConfig, report: PreflightReport, settings: Settings): void {
  const min = settings.runs.minRecords;
  for (const c of report.datasets) {
    if (c.exists && c.errors === 0 && c.records < min) {
      report.blockers.push(
        `${c.path} has ${plural(c.records, 'record')}; fine-tuning on fewer than ${min} examples mostly memorises them, and some trainers "succeed" without learning anything. Add data, or lower tunekit.runs.minRecords if this is intended.`,
      );
    }
  }
  const b = config.backend;
  const gpus = b.type === 'ssh' ? Math.max(1, b.gpus) : b.type === 'slurm' ? b.nodes * Math.max(1, b.gpusPerNode) : b.nodes * Math.max(1, Number(/:(\d+)$/.exec(b.accelerators)?.[1] ?? 1));
  const perStep = config.hyperparameters.batchSize * config.hyperparameters.gradientAccumulation * gpus;
  const total = report.datasets.reduce((s, c) => s + c.records, 0);
  if (total > 0 && total < perStep) {
    report.blockers.push(
      `All datasets together hold ${plural(total, 'record')}, fewer than one optimisation step takes (batchSize ${config.hyperparameters.batchSize} × gradientAccumulation ${config.hyperparameters.gradientAccumulation} × ${plural(gpus, 'GPU')} = ${perStep}); the trainer would do no update. Lower gradientAccumulation or add data.`,
    );
  }
}

type PreflightCache = Record<string, { key: string; records: number; format?: string }>;

/** What a validation result depends on: the file's size and mtime, and every setting. */
function cacheKey(file: string, settings: Settings): string | undefined {
  try {
    const st = fs.statSync(file);
    return JSON.stringify([st.size, st.mtimeMs, settings]);
  } catch {
    return undefined;
  }
}

function readCache(file: string): PreflightCache {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as PreflightCache;
  } catch {
    return {};
  }
}

function writeCache(file: string, cache: PreflightCache): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(cache));
  } catch {
    // A cache that cannot be written only costs a validation next time.
  }
}

function plural(n: number, word: string): string {
  return `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
}

/** The report as text (CLI output, the editor's output channel). */
export function formatPreflight(r: PreflightReport, cwd = process.cwd()): string {
  const rel = (p: string): string => path.relative(cwd, p) || p;
  const lines = [`Pre-flight for ${r.config?.name ?? path.basename(r.configPath)} (${rel(r.configPath)})`];
  if (r.config && r.resources) lines.push(`  Runs on: ${r.resources} · recipe ${r.config.recipe}${r.config.model ? ` · model ${r.config.model}` : ''}`);
  for (const d of r.datasets) {
    const mark = !d.exists || d.errors > 0 ? '✖' : d.warnings > 0 ? '⚠' : '✔';
    lines.push(`  ${mark} ${d.path}: ${d.exists ? `${plural(d.records, 'record')}${d.format ? ` (${d.format})` : ''}, ${plural(d.errors, 'error')}, ${plural(d.warnings, 'warning')}${d.cached ? ' (unchanged since the last check)' : ''}` : 'missing'}`);
    for (const p of d.problems) lines.push(`      ${p}`);
  }
  for (const n of r.notes) lines.push(`  note: ${n}`);
  if (r.ok) lines.push('  Ready to launch.');
  else {
    lines.push('  Launch refused:');
    for (const b of r.blockers) lines.push(`    - ${b}`);
  }
  return lines.join('\n');
}

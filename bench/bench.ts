import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { WorkerPool } from '../server/src/node/workerPool';
import { generate, type Generated } from '../test/helpers/generate';
import { measureColdHovers, measureEditor, startServer } from './editor';
import { profileRules } from './profile';
import { bareArrayParse, bareJsonlLoop, tunekitValidate } from './throughput';

/**
 * `npm run bench`: generates its datasets into bench/data (kept between runs) and prints the four
 * figures of issue 7 with medians of several runs and ratios measured in the same run.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const DATA = path.join(ROOT, 'bench', 'data');

interface Row {
  figure: string;
  value: string;
  target: string;
  verdict: string;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
const ms = (t: number): string => `${t.toFixed(t < 10 ? 2 : 0)} ms`;

async function timeIt(fn: () => unknown): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function throughput(files: Generated[], runs: number, rows: Row[]): Promise<void> {
  const pool = new WorkerPool();
  try {
    for (const g of files) {
      const isArray = g.file.endsWith('.json');
      const bare: number[] = [];
      const tk: number[] = [];
      const single: number[] = [];
      // Warm-up: JIT and worker start-up are not what the figure is about.
      await tunekitValidate(g.file, pool);
      for (let r = 0; r < runs; r++) {
        bare.push(await timeIt(() => (isArray ? bareArrayParse(g.file) : bareJsonlLoop(g.file))));
        tk.push(await timeIt(() => tunekitValidate(g.file, pool)));
        // One thread, for context only: measured once.
        if (r === 0) single.push(await timeIt(() => tunekitValidate(g.file, undefined)));
      }
      const b = median(bare);
      const t = median(tk);
      const s = median(single);
      const ratio = b / t;
      const name = path.basename(g.file);
      process.stderr.write(`  ${name}: bare ${ms(b)}, tunekit ${ms(t)} (${pool.size} workers), 1 thread ${ms(s)}\n`);
      rows.push({
        figure: `1. validate throughput ÷ bare ${isArray ? 'JSON.parse(file)' : 'JSON.parse per line'} — ${name} (${mb(g.bytes)})`,
        value: `${ratio.toFixed(2)} (${(g.bytes / 1e6 / (t / 1000)).toFixed(0)} vs ${(g.bytes / 1e6 / (b / 1000)).toFixed(0)} MB/s; 1 thread ${(b / s).toFixed(2)})`,
        target: '≥ 1.0',
        verdict: ratio >= 1 ? 'met' : `missed (${Math.round((1 - ratio) * 100)}% short)`,
      });
    }
  } finally {
    await pool.close();
  }
}

async function editor(records: number, edits: number, hovers: number, rows: Row[]): Promise<void> {
  const doc = generate(DATA, 'editor-jsonl', records);
  const server = await startServer(DATA, path.join(ROOT, 'server', 'out', 'server.js'));
  try {
    const f = await measureEditor(server, doc.file, edits, hovers);
    const p50 = percentile(f.edits, 50);
    const p95 = percentile(f.edits, 95);
    process.stderr.write(`  open → first diagnostics ${ms(f.firstDiagnosticsMs)}, complete ${ms(f.openAndValidateMs)}, ${f.diagnostics} diagnostics; edits p50 ${ms(p50)} p95 ${ms(p95)} max ${ms(Math.max(...f.edits))}\n`);
    const docName = `${path.basename(doc.file)} (${mb(doc.bytes)}, ${records.toLocaleString('en-US')} records)`;
    rows.push({
      figure: `2. one-character edit → refreshed diagnostics, p95 — ${docName}`,
      value: `${ms(p95)} (p50 ${ms(p50)}, ${f.edits.length} edits)`,
      target: '≤ 15 ms',
      verdict: p95 <= 15 ? 'met' : `missed (${(p95 / 15).toFixed(1)}×)`,
    });
    rows.push({
      figure: `2. full validation of that document (open → complete diagnostics, media probed)`,
      value: `${ms(f.openAndValidateMs)} (first diagnostics, media probes still running: ${ms(f.firstDiagnosticsMs)})`,
      target: '≤ 1 s',
      verdict: f.openAndValidateMs <= 1000 ? 'met' : `missed (${(f.openAndValidateMs / 1000).toFixed(1)}×)`,
    });
    const heapRatio = f.heapAfter / doc.bytes;
    rows.push({
      figure: `3. server heap after opening that document ÷ document size`,
      value: `${heapRatio.toFixed(2)} (${mb(f.heapAfter)} heap; ${mb(f.heapBefore)} before opening)`,
      target: '≤ 2.0',
      verdict: heapRatio <= 2 ? 'met' : `missed (${heapRatio.toFixed(1)}×)`,
    });
    if (f.hovers) {
      const cold = await measureColdHovers(server, DATA, 50);
      const cp95 = percentile(cold, 95);
      rows.push({
        figure: `4. hover on an image never probed before, p95 (header read during the hover)`,
        value: `${ms(cp95)} (p50 ${ms(percentile(cold, 50))}, ${cold.length} hovers)`,
        target: '≤ 50 ms',
        verdict: cp95 <= 50 ? 'met' : `missed (${(cp95 / 50).toFixed(1)}×)`,
      });
      const hp95 = percentile(f.hovers, 95);
      rows.push({
        figure: `4. hover on an image path in that document, p95 (header probed during validation)`,
        value: `${ms(hp95)} (p50 ${ms(percentile(f.hovers, 50))}, ${f.hovers.length} hovers)`,
        target: '≤ 50 ms',
        verdict: hp95 <= 50 ? 'met' : `missed (${(hp95 / 50).toFixed(1)}×)`,
      });
    } else rows.push({ figure: '4. hover on an image path, p95', value: 'n/a (hover not implemented)', target: '≤ 50 ms', verdict: 'n/a' });
  } finally {
    await server.stop();
  }
}

/**
 * Peak resident memory of `tunekit validate` (the real CLI, worker threads included) on `file`:
 * a preloaded hook prints getrusage's maxRSS when the process exits.
 */
async function cliPeakRss(file: string): Promise<{ rssBytes: number; ms: number; records: string }> {
  const hook = path.join(DATA, 'max-rss-hook.js');
  fs.writeFileSync(hook, "process.on('exit', () => require('fs').writeSync(2, `\\nTUNEKIT_MAX_RSS ${process.resourceUsage().maxRSS}\\n`));\n");
  const start = performance.now();
  const child = spawn(process.execPath, ['--require', hook, path.join(ROOT, 'bin', 'tunekit.js'), 'validate', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-2000)));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const ms = performance.now() - start;
  const m = /TUNEKIT_MAX_RSS (\d+)/.exec(err);
  if (!m || (code !== 0 && code !== 1)) throw new Error(`tunekit validate failed (exit ${code}): ${err.slice(-2000)}`);
  const summary = /in 1 file, ([\d,]+) records/.exec(out);
  return { rssBytes: Number(m[1]) * 1024, ms, records: summary?.[1] ?? '?' };
}

async function cliMemory(file: Generated, rows: Row[]): Promise<void> {
  const { rssBytes, ms: took, records } = await cliPeakRss(file.file);
  process.stderr.write(`  tunekit validate ${path.basename(file.file)}: peak RSS ${mb(rssBytes)}, ${(took / 1000).toFixed(1)} s, ${records} records\n`);
  rows.push({
    figure: `3. tunekit validate peak RSS — ${path.basename(file.file)} (${mb(file.bytes)} JSON array)`,
    value: `${mb(rssBytes)} (${(took / 1000).toFixed(0)} s)`,
    target: '< 300 MB at 1 GB',
    verdict: file.bytes < 1e9 ? 'indicative (the target is for 1 GB: --big)' : rssBytes < 300e6 ? 'met' : `missed (${(rssBytes / 300e6).toFixed(1)}×)`,
  });
}

function printTable(rows: Row[]): void {
  const headers: Row = { figure: 'figure', value: 'measured', target: 'target', verdict: 'verdict' };
  const keys: (keyof Row)[] = ['figure', 'value', 'target', 'verdict'];
  const widths = keys.map((k) => Math.max(headers[k].length, ...rows.map((r) => r[k].length)));
  const line = (r: Row): string => '| ' + keys.map((k, i) => r[k].padEnd(widths[i]!)).join(' | ') + ' |';
  process.stdout.write([line(headers), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...rows.map(line)].join('\n') + '\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '200000' },
      runs: { type: 'string', default: '3' },
      big: { type: 'boolean', default: false },
      only: { type: 'string' },
      editor: { type: 'string', default: '40000' },
      edits: { type: 'string', default: '100' },
    },
  });
  const size = Number(values.size);
  const runs = Number(values.runs);
  const only = new Set((values.only ?? 'throughput,latency,memory,hover,profile').split(','));
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}, Node ${process.version}`;
  process.stderr.write(`tunekit bench: ${size.toLocaleString('en-US')} records, ${runs} runs, ${machine}\n`);
  const rows: Row[] = [];
  if (only.has('throughput')) {
    process.stderr.write('generating datasets…\n');
    const files = [generate(DATA, 'llava-jsonl', size), generate(DATA, 'openai-jsonl', size), generate(DATA, 'llava-array', size)];
    process.stderr.write('throughput…\n');
    await throughput(files, runs, rows);
  }
  if (only.has('memory')) {
    process.stderr.write('CLI memory…\n');
    await cliMemory(generate(DATA, 'llava-array', size), rows);
    if (values.big) {
      // LLaVA's 665k-record mix is one JSON array of about 1 GB; ours has the same shape.
      await cliMemory(generate(DATA, 'llava-array', 1_000_000), rows);
    }
  }
  if (only.has('latency') || only.has('memory') || only.has('hover')) {
    process.stderr.write('editor (language server over stdio)…\n');
    await editor(Number(values.editor), Number(values.edits), 100, rows);
  }
  process.stdout.write(`\n${new Date().toISOString().slice(0, 10)}, ${machine}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (1/5/15 min).\n\n`);
  printTable(rows);
  if (only.has('profile')) {
    // Not a target: where the per-record time goes, to see what the figures above depend on.
    const file = generate(DATA, 'llava-jsonl', Math.min(size, 20000)).file;
    const costs = profileRules(file, 5000, runs);
    process.stdout.write(`\nWhere the time goes (${path.basename(file)}, 5,000 records, one thread, no media probing):\n`);
    for (const c of costs) process.stdout.write(`  ${c.microsPerRecord.toFixed(1).padStart(8)} µs/record  ${c.part}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});

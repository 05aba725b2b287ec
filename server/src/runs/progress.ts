import type { Progress, RunState } from './records';

/**
 * Readers for what the remote side writes: the trainer's progress log (LLaMA-Factory's
 * `trainer_log.jsonl`, which the smoke trainer imitates, or ms-swift's `logging.jsonl`) and the
 * wrapper's `status.json`.
 */

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined);

/** One progress line, in either trainer's format; undefined for lines that are not progress. */
export function parseProgressLine(line: string): Progress | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  let current = num(o['current_steps']);
  let total = num(o['total_steps']);
  const swiftSteps = o['global_step/max_steps'];
  if ((current === undefined || total === undefined) && typeof swiftSteps === 'string') {
    const m = /^(\d+)\/(\d+)$/.exec(swiftSteps.trim());
    if (m) {
      current = Number(m[1]);
      total = Number(m[2]);
    }
  }
  if (current === undefined || total === undefined || total <= 0) return undefined;
  const pctRaw = o['percentage'];
  const pct = num(typeof pctRaw === 'string' ? pctRaw.replace('%', '') : pctRaw) ?? (current / total) * 100;
  const p: Progress = { currentStep: current, totalSteps: total, percentage: Math.max(0, Math.min(100, pct)) };
  const loss = num(o['loss']);
  if (loss !== undefined) p.loss = loss;
  const lr = num(o['lr']) ?? num(o['learning_rate']);
  if (lr !== undefined) p.learningRate = lr;
  const epoch = num(o['epoch']);
  if (epoch !== undefined) p.epoch = epoch;
  if (typeof o['elapsed_time'] === 'string') p.elapsed = o['elapsed_time'];
  if (typeof o['remaining_time'] === 'string') p.remaining = o['remaining_time'];
  return p;
}

/** The latest progress in a chunk of log lines (the last line that is progress). */
export function latestProgress(text: string, prefix = ''): Progress | undefined {
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    let line = lines[i]!.trim();
    if (prefix) {
      const at = line.indexOf(prefix.trim());
      if (at < 0) continue;
      line = line.slice(at + prefix.trim().length).trim();
    }
    const p = parseProgressLine(line);
    if (p) return p;
  }
  return undefined;
}

export interface WrapperStatus {
  state: RunState;
  exitCode: number | null;
  pid?: number;
  trainerPgid?: number;
  host?: string;
  startedAt?: number;
  endedAt?: number;
  slurmJobId?: string;
}

const WRAPPER_STATES: ReadonlySet<string> = new Set(['running', 'cancelling', 'completed', 'failed', 'cancelled']);

/** Parses run.sh's `status.json`; undefined when absent or unreadable. */
export function parseWrapperStatus(text: string): WrapperStatus | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text.trim());
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o['state'] !== 'string' || !WRAPPER_STATES.has(o['state'])) return undefined;
  const s: WrapperStatus = { state: o['state'] as RunState, exitCode: num(o['exitCode']) ?? null };
  const pid = num(o['pid']);
  if (pid !== undefined) s.pid = pid;
  const pg = num(o['trainerPgid']);
  if (pg !== undefined) s.trainerPgid = pg;
  if (typeof o['host'] === 'string') s.host = o['host'];
  const st = num(o['startedAt']);
  if (st !== undefined) s.startedAt = st;
  const en = num(o['endedAt']);
  if (en !== undefined) s.endedAt = en;
  const job = o['slurmJobId'];
  if (typeof job === 'number' || typeof job === 'string') s.slurmJobId = String(job);
  return s;
}

/** Splits a report printed by a remote script into its `@@name` sections. The last section (`log`) may hold anything. */
export function splitSections(text: string, last = 'log'): Record<string, string> {
  const out: Record<string, string> = {};
  const lastMarker = `@@${last}\n`;
  const lastAt = text.startsWith(lastMarker) ? 0 : text.indexOf(`\n${lastMarker}`);
  const head = lastAt >= 0 ? text.slice(0, lastAt) : text;
  if (lastAt >= 0) out[last] = text.slice(lastAt + (lastAt === 0 ? 0 : 1) + lastMarker.length);
  let name: string | undefined;
  for (const line of head.split('\n')) {
    const m = /^@@([a-z0-9]+)$/.exec(line);
    if (m) {
      name = m[1]!;
      out[name] = '';
    } else if (name) out[name] += (out[name] ? '\n' : '') + line;
  }
  return out;
}

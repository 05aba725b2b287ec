import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { parseSettings, type Settings } from '../core/settings';
import { LaunchRefusedError, RunService, type RunUpdate } from '../runs/launch';
import { formatPreflight } from '../runs/preflight';
import { isFinal, projectRootFor, type RunRecord } from '../runs/records';
import { CliUsageError, SETTINGS_OPTIONS, settingsFromFlags } from './flags';

/**
 * `tunekit run check|launch|status|logs|cancel|download|relaunch`: the editor's run pipeline,
 * headless. Secrets named in a config are read from the environment variables of the same name.
 */

export const RUN_USAGE = `  tunekit run check CONFIG                      pre-flight only: validate the datasets, show what would run where
  tunekit run launch CONFIG [--follow] [--download] [--yes]
  tunekit run status [RUN] [--json]             RUN: a run id (or prefix) or a config name; none lists every run
  tunekit run logs RUN [--follow]
  tunekit run cancel RUN
  tunekit run download RUN [--to DIR]
  tunekit run relaunch RUN [--follow] [--download]   resumes from RUN's newest checkpoint
    run options: --root DIR (where .tunekit/ lives), --ssh-config FILE, --allow-warnings, --min-records N, --interval SECONDS`;

const RUN_OPTIONS = {
  ...SETTINGS_OPTIONS,
  root: { type: 'string' },
  'ssh-config': { type: 'string' },
  'allow-warnings': { type: 'boolean', default: false },
  'min-records': { type: 'string' },
  follow: { type: 'boolean', short: 'f', default: false },
  download: { type: 'boolean', default: false },
  yes: { type: 'boolean', short: 'y', default: false },
  json: { type: 'boolean', default: false },
  to: { type: 'string' },
  interval: { type: 'string' },
  grace: { type: 'string' },
} as const;

export async function runCommand(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: RUN_OPTIONS });
  const target = positionals[0];
  const needsTarget = (what: string): string => {
    if (!target) throw new CliUsageError(`run ${sub ?? ''} needs ${what}`);
    return target;
  };
  const settings = runSettings(values);
  const root = path.resolve(values.root ?? (sub === 'check' || sub === 'launch' ? projectRootFor(needsTarget('a CONFIG')) : process.cwd()));
  const intervalMs = values.interval !== undefined ? Math.max(0.2, Number(values.interval)) * 1000 : 2000;
  const service = new RunService({
    root,
    settings,
    ...(values['ssh-config'] ? { ssh: { configFile: path.resolve(values['ssh-config']) } } : settings.runs.sshConfigFile ? { ssh: { configFile: settings.runs.sshConfigFile } } : {}),
    getSecret: (name) => Promise.resolve(process.env[name]),
    ...(values.grace !== undefined ? { graceSeconds: Number(values.grace) } : {}),
  });
  switch (sub) {
    case 'check': {
      const report = await service.preflight(needsTarget('a CONFIG'));
      out.write(formatPreflight(report) + '\n');
      return report.ok ? 0 : 1;
    }
    case 'launch':
    case 'relaunch': {
      let run: RunRecord;
      try {
        const onPhase = (_p: string, m: string): void => void err.write(`tunekit: ${m}\n`);
        const confirmActive = (): boolean => values.yes;
        run = sub === 'launch' ? await service.launch(needsTarget('a CONFIG'), { onPhase, confirmActive }) : await service.relaunch(needsTarget('a RUN'), { onPhase, confirmActive });
      } catch (e) {
        if (e instanceof LaunchRefusedError) {
          err.write(`${e.report ? formatPreflight(e.report) : `tunekit: ${e.message}`}\n`);
          if (e.active && !e.report) err.write('tunekit: pass --yes to launch another run anyway.\n');
          return 1;
        }
        err.write(`tunekit: ${(e as Error).message}\n`);
        return 1;
      }
      err.write(`tunekit: launched ${run.id} (${run.resources})${run.resumedFrom ? `, resuming from ${run.resumedFrom.checkpoint}` : ''}\n`);
      out.write(`${run.id}\n`);
      if (!values.follow) return 0;
      return followAndFinish(service, run.id, { out, err, intervalMs, download: values.download, to: values.to });
    }
    case 'status': {
      if (target) {
        const u = await service.refresh(resolveRun(service, target).id, { force: true });
        if (values.json) out.write(JSON.stringify(publicRecord(u.run)) + '\n');
        else out.write(describeRun(u.run) + '\n');
        return 0;
      }
      const runs = service.list();
      for (const r of runs.filter((x) => !isFinal(x.state) || x.unreachable)) await service.refresh(r.id).catch(() => undefined);
      const fresh = service.list();
      if (values.json) for (const r of fresh) out.write(JSON.stringify(publicRecord(r)) + '\n');
      else if (fresh.length === 0) out.write(`No runs recorded in ${path.join(root, '.tunekit', 'runs')}.\n`);
      else for (const r of fresh) out.write(describeRun(r) + '\n');
      return 0;
    }
    case 'logs': {
      const id = resolveRun(service, needsTarget('a RUN')).id;
      if (values.follow) {
        const final = await service.follow(id, { logFrom: 0, intervalMs, onUpdate: (u) => u.logChunk && out.write(u.logChunk) });
        return final.state === 'completed' ? 0 : 1;
      }
      const u = await service.refresh(id, { logFrom: 0 });
      if (u.run.unreachable) {
        err.write(`tunekit: ${u.run.unreachable}\n`);
        return 2;
      }
      out.write(u.logChunk ?? '');
      return 0;
    }
    case 'cancel': {
      const run = await service.cancel(resolveRun(service, needsTarget('a RUN')).id);
      out.write(describeRun(run) + '\n');
      return run.state === 'cancelled' || isFinal(run.state) ? 0 : 1;
    }
    case 'download': {
      const { dir, files } = await service.download(resolveRun(service, needsTarget('a RUN')).id, values.to ? path.resolve(values.to) : undefined);
      for (const f of files) out.write(`${path.join(dir, f)}\n`);
      err.write(`tunekit: ${files.length} file${files.length === 1 ? '' : 's'} in ${dir}\n`);
      return 0;
    }
    default:
      throw new CliUsageError(sub ? `unknown run command "${sub}"` : 'run needs a command: check, launch, status, logs, cancel, download or relaunch');
  }
}

function runSettings(values: Record<string, unknown>): Settings {
  const base = settingsFromFlags(values);
  const runs = { ...base.runs };
  if (values['allow-warnings']) runs.allowWarnings = true;
  if (values['min-records'] !== undefined) {
    const n = Number(values['min-records']);
    if (!Number.isInteger(n) || n < 0) throw new CliUsageError('--min-records must be a whole number');
    runs.minRecords = n;
  }
  const { settings, problems } = parseSettings({ ...base, runs });
  if (problems.length) throw new CliUsageError(problems.join('; '));
  return settings;
}

function resolveRun(service: RunService, ref: string): RunRecord {
  const r = service.get(ref);
  if (!r) throw new CliUsageError(`no run "${ref}" in ${service.store.dir}`);
  return r;
}

async function followAndFinish(service: RunService, id: string, o: { out: NodeJS.WritableStream; err: NodeJS.WritableStream; intervalMs: number; download: boolean; to?: string | undefined }): Promise<number> {
  let lastLine = '';
  const final = await service.follow(id, {
    logFrom: 0,
    intervalMs: o.intervalMs,
    onUpdate: (u: RunUpdate) => {
      if (u.logChunk) o.out.write(u.logChunk);
      const line = statusLine(u.run);
      if (line !== lastLine) {
        o.err.write(`tunekit: ${line}\n`);
        lastLine = line;
      }
    },
  });
  o.err.write(`tunekit: ${describeRun(final)}\n`);
  if (final.state === 'completed' && o.download) {
    const { dir, files } = await service.download(id, o.to ? path.resolve(o.to) : undefined);
    o.err.write(`tunekit: downloaded ${files.length} file${files.length === 1 ? '' : 's'} to ${dir}\n`);
  }
  return final.state === 'completed' ? 0 : 1;
}

/** "running · step 12/30 (40%) · loss 3.21 · 0:00:05 elapsed, 0:00:08 left" */
export function statusLine(r: RunRecord): string {
  const parts: string[] = [r.state];
  const p = r.progress;
  if (p) {
    parts.push(`step ${p.currentStep}/${p.totalSteps} (${Math.round(p.percentage)}%)`);
    if (p.loss !== undefined) parts.push(`loss ${p.loss.toFixed(4)}`);
    if (p.elapsed) parts.push(`${p.elapsed} elapsed${p.remaining ? `, ${p.remaining} left` : ''}`);
  }
  if (r.unreachable) parts.push(`unreachable: ${r.unreachable}`);
  return parts.join(' · ');
}

export function describeRun(r: RunRecord): string {
  const exit = r.exitCode !== undefined && r.exitCode !== null ? ` (exit ${r.exitCode})` : '';
  return `${r.id}  ${statusLine(r)}${exit}  ${r.resources}${r.detail ? `\n    ${r.detail}` : ''}`;
}

/** The record as `--json` prints it: without the config snapshot, which the user has in the file. */
function publicRecord(r: RunRecord): Omit<RunRecord, 'config' | 'logOffset'> {
  const rest: Partial<RunRecord> = { ...r };
  delete rest.config;
  delete rest.logOffset;
  return rest as Omit<RunRecord, 'config' | 'logOffset'>;
}

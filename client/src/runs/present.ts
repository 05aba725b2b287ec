import type { RunRecord, RunState } from '../../../server/src/runs/records';

/**
 * How runs read in the editor (Runs view, status bar, notifications). Pure, so the wording is
 * unit-tested without VS Code.
 */

/** Codicon and theme colour per state. */
export const STATE_ICON: Record<RunState, { icon: string; color?: string }> = {
  preparing: { icon: 'loading~spin' },
  syncing: { icon: 'cloud-upload' },
  queued: { icon: 'clock', color: 'charts.yellow' },
  starting: { icon: 'loading~spin' },
  running: { icon: 'sync~spin', color: 'charts.blue' },
  cancelling: { icon: 'loading~spin', color: 'charts.orange' },
  completed: { icon: 'pass', color: 'testing.iconPassed' },
  failed: { icon: 'error', color: 'testing.iconFailed' },
  cancelled: { icon: 'circle-slash', color: 'disabledForeground' },
  lost: { icon: 'question', color: 'testing.iconErrored' },
};

/** "42% · loss 1.2345 · 0:01:10 elapsed, 0:02:00 left" (the tree item's description). */
export function runDescription(r: RunRecord): string {
  const parts: string[] = [r.unreachable ? `${r.state} (unreachable)` : r.state];
  const p = r.progress;
  if (p) {
    parts.push(`${Math.round(p.percentage)}%`);
    if (p.loss !== undefined) parts.push(`loss ${p.loss.toFixed(4)}`);
    if (p.elapsed) parts.push(p.remaining && !isFinalState(r.state) ? `${p.elapsed} elapsed, ${p.remaining} left` : `${p.elapsed} elapsed`);
  } else if (r.startedAt && !r.endedAt) parts.push(`since ${new Date(r.startedAt).toLocaleTimeString()}`);
  if (isFinalState(r.state) && r.exitCode !== undefined && r.exitCode !== null) parts.push(`exit ${r.exitCode}`);
  return parts.join(' · ');
}

export function isFinalState(s: RunState): boolean {
  return s === 'completed' || s === 'failed' || s === 'cancelled' || s === 'lost';
}

/** Markdown tooltip: what ran where, and why it ended the way it did. */
export function runTooltip(r: RunRecord): string {
  const lines = [`**${r.name}** — ${r.state}${r.exitCode !== undefined && r.exitCode !== null ? ` (exit ${r.exitCode})` : ''}`, '', `Run \`${r.id}\``, '', `Recipe \`${r.recipe}\` on ${r.resources}`];
  if (r.workdir) lines.push('', `Remote folder \`${r.workdir}/${r.runDir}\``);
  if (r.slurmJobId) lines.push('', `Slurm job ${r.slurmJobId}`);
  if (r.skypilot) lines.push('', `SkyPilot ${r.skypilot.managed ? 'managed job' : `cluster \`${r.skypilot.cluster ?? ''}\` job`} ${r.skypilot.jobId ?? ''}`);
  if (r.progress) lines.push('', `Step ${r.progress.currentStep} of ${r.progress.totalSteps}${r.progress.epoch !== undefined ? `, epoch ${r.progress.epoch}` : ''}`);
  if (r.resumedFrom) lines.push('', `Resumed from \`${r.resumedFrom.checkpoint}\``);
  if (r.detail) lines.push('', r.detail);
  if (r.unreachable) lines.push('', `Last poll failed: ${r.unreachable}`);
  if (r.downloadedTo) lines.push('', `Outputs in \`${r.downloadedTo}\``);
  return lines.join('\n');
}

/** The status-bar text for the runs in flight (undefined hides the item). */
export function statusBarText(active: RunRecord[]): string | undefined {
  if (active.length === 0) return undefined;
  const r = active[0]!;
  const pct = r.progress ? ` ${Math.round(r.progress.percentage)}%` : '';
  const loss = r.progress?.loss !== undefined ? ` loss ${r.progress.loss.toFixed(3)}` : '';
  const more = active.length > 1 ? ` (+${active.length - 1})` : '';
  return `$(${r.state === 'queued' ? 'clock' : 'sync~spin'}) ${r.name}${pct}${loss}${more}`;
}

/** The notification when a run ends, with its real exit state. */
export function endMessage(r: RunRecord): { level: 'info' | 'warning' | 'error'; text: string } {
  const exit = r.exitCode !== undefined && r.exitCode !== null ? ` (exit code ${r.exitCode})` : '';
  switch (r.state) {
    case 'completed':
      return { level: 'info', text: `Run ${r.name} completed${exit} on ${r.resources}${r.progress ? ` after ${r.progress.currentStep} steps, final loss ${r.progress.loss?.toFixed(4) ?? '?'}` : ''}.` };
    case 'cancelled':
      return { level: 'warning', text: `Run ${r.name} was cancelled${exit}.` };
    case 'lost':
      return { level: 'error', text: `Run ${r.name} ended without recording an outcome: ${r.detail ?? 'the remote side has no trace of it'}` };
    default:
      return { level: 'error', text: `Run ${r.name} failed${exit}: ${r.detail ?? 'see its log'}` };
  }
}

import * as fs from 'node:fs';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { LaunchRefusedError } from '../../../server/src/runs/launch';
import { formatPreflight } from '../../../server/src/runs/preflight';
import { readRunConfig } from '../../../server/src/runs/preflight';
import { isFinal, type RunRecord } from '../../../server/src/runs/records';
import { ENV_NAME_RE } from '../../../server/src/runs/schema';
import { RunsController, SECRET_PREFIX, shown } from './controller';
import { fineTuneOnDataset } from './fineTune';
import { RunConfigCodeLens, RunsTreeProvider, createStatusBar } from './views';

/**
 * Runs in the editor: "Launch run" on run configs, "Fine-tune on this dataset…", the Runs view,
 * the status-bar item, logs in the "Tunekit Runs" output channel, cancel / download / relaunch /
 * terminal, and secrets in SecretStorage. Every command that starts a process refuses in an
 * untrusted workspace.
 */
export function registerRuns(context: vscode.ExtensionContext, _client?: LanguageClient): RunsController {
  const controller = new RunsController(context);
  const tree = new RunsTreeProvider(controller);
  context.subscriptions.push(
    controller,
    vscode.window.createTreeView('tunekit.runs', { treeDataProvider: tree }),
    createStatusBar(controller),
    vscode.languages.registerCodeLensProvider({ scheme: 'file', pattern: '**/*.tunekit.yaml' }, new RunConfigCodeLens(controller)),
    vscode.workspace.onDidGrantWorkspaceTrust(() => controller.start()),
    vscode.commands.registerCommand('tunekit.launchRun', (uri?: vscode.Uri) => trusted('launch runs', () => launch(controller, uri))),
    vscode.commands.registerCommand('tunekit.fineTuneDataset', (uri?: vscode.Uri) => fineTune(uri)),
    vscode.commands.registerCommand('tunekit.cancelRun', (ref?: RunRecord | string) => trusted('cancel runs', () => cancel(controller, ref))),
    vscode.commands.registerCommand('tunekit.downloadOutputs', (ref?: RunRecord | string) => trusted('download outputs', () => download(controller, ref))),
    vscode.commands.registerCommand('tunekit.relaunchRun', (ref?: RunRecord | string) => trusted('relaunch runs', () => relaunch(controller, ref))),
    vscode.commands.registerCommand('tunekit.openRunTerminal', (ref?: RunRecord | string) => trusted('open remote terminals', () => terminal(controller, ref))),
    vscode.commands.registerCommand('tunekit.showRunLog', (ref?: RunRecord | string) => showLog(controller, ref)),
    vscode.commands.registerCommand('tunekit.refreshRuns', () => trusted('follow runs', () => controller.tick())),
    vscode.commands.registerCommand('tunekit.setSecret', () => setSecret(context)),
  );
  // Re-attach: runs recorded under .tunekit/runs that have not finished are followed again.
  controller.start();
  return controller;
}

/** Runs `body` only in a trusted workspace: running ssh, rsync or sky with a workspace's values needs trust. */
async function trusted(what: string, body: () => Promise<unknown>): Promise<void> {
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showWarningMessage(`Tunekit does not ${what} in an untrusted workspace: it would run ssh, rsync or sky with values this workspace sets. Trust the workspace to enable it.`, 'Manage Workspace Trust').then((pick) => {
      if (pick) void vscode.commands.executeCommand('workbench.trust.manage');
    });
    return;
  }
  try {
    await body();
  } catch (e) {
    void vscode.window.showErrorMessage(`Tunekit: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function pickConfig(uri?: vscode.Uri): Promise<vscode.Uri | undefined> {
  if (uri) return uri;
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active?.fsPath.endsWith('.tunekit.yaml')) return active;
  const found = await vscode.workspace.findFiles('**/*.tunekit.yaml', '**/node_modules/**', 200);
  if (found.length === 1) return found[0];
  const picked = await vscode.window.showQuickPick(
    found.map((u) => ({ label: shown(u.fsPath), uri: u })),
    { title: 'Launch which run config?' },
  );
  return picked?.uri;
}

async function launch(controller: RunsController, uri?: vscode.Uri): Promise<void> {
  const target = await pickConfig(uri);
  if (!target) return;
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === target.toString());
  if (open?.isDirty) await open.save();
  const root = controller.rootFor(target);
  const svc = controller.service(root, target);
  const out = controller.output;
  const report = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Tunekit: checking ${shown(target.fsPath)}` }, () => svc.preflight(target.fsPath));
  out.appendLine(formatPreflight(report, root));
  if (!report.ok || !report.config) {
    const pick = await vscode.window.showErrorMessage(`Launch refused: ${report.blockers[0] ?? 'the config is not valid'}${report.blockers.length > 1 ? ` (and ${report.blockers.length - 1} more)` : ''}`, 'Show Details', 'Open Problems');
    if (pick === 'Show Details') out.show(true);
    if (pick === 'Open Problems') void vscode.commands.executeCommand('workbench.actions.view.problems');
    return;
  }
  const cfg = report.config;
  const detail = [`Recipe: ${cfg.recipe}${cfg.model ? ` · ${cfg.model}` : ''}${cfg.recipe !== 'smoke' ? ` · ${cfg.method}` : ''}`, `Where: ${report.resources ?? ''}`, ...report.datasets.map((d) => `Data: ${d.path} (${d.records} records)`), ...report.notes].join('\n');
  const go = await vscode.window.showInformationMessage(`Launch ${cfg.name} on ${report.resources ?? cfg.backend.type}?`, { modal: true, detail }, 'Launch');
  if (go !== 'Launch') return;
  try {
    const run = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Tunekit: launching ${cfg.name}` }, (progress) =>
      svc.launch(target.fsPath, {
        onPhase: (_phase, message) => {
          progress.report({ message });
          out.appendLine(`[${cfg.name}] ${message}`);
        },
        confirmActive: async (active) =>
          (await vscode.window.showWarningMessage(`${cfg.name} already has a run that has not finished (${active.map((r) => `${r.id}: ${r.state}`).join(', ')}). Launch another one?`, { modal: true }, 'Launch Another')) === 'Launch Another',
      }),
    );
    controller.launched(run);
    out.show(true);
    void vscode.window.showInformationMessage(`Run ${run.id} started on ${run.resources}.`);
  } catch (e) {
    controller.changedNow();
    if (e instanceof LaunchRefusedError && e.report) out.appendLine(formatPreflight(e.report, root));
    const pick = await vscode.window.showErrorMessage(`Launch of ${cfg.name} failed: ${e instanceof Error ? e.message : String(e)}`, 'Show Details');
    if (pick) out.show(true);
  }
}

async function fineTune(uri?: vscode.Uri): Promise<void> {
  const dataset = uri ?? vscode.window.activeTextEditor?.document.uri;
  if (!dataset || dataset.scheme !== 'file' || !/\.(jsonl|ndjson|json)$/i.test(dataset.fsPath)) {
    void vscode.window.showWarningMessage('Open a dataset (.jsonl or .json) or pick one in the Explorer to fine-tune on it.');
    return;
  }
  await fineTuneOnDataset(dataset);
}

async function resolveRun(controller: RunsController, ref: RunRecord | string | undefined, filter: (r: RunRecord) => boolean, title: string): Promise<{ run: RunRecord; root: string } | undefined> {
  const id = typeof ref === 'string' ? ref : ref?.id;
  if (id) return controller.find(id);
  const candidates = controller.runs().filter(filter);
  const picked = await vscode.window.showQuickPick(
    candidates.map((r) => ({ label: r.name, description: `${r.state} · ${r.id}`, id: r.id })),
    { title },
  );
  return picked ? controller.find(picked.id) : undefined;
}

async function cancel(controller: RunsController, ref?: RunRecord | string): Promise<void> {
  const found = await resolveRun(controller, ref, (r) => !isFinal(r.state), 'Cancel which run?');
  if (!found) return;
  const { run, root } = found;
  const ok = await vscode.window.showWarningMessage(`Cancel run ${run.name} (${run.id}) on ${run.resources}?`, { modal: true, detail: 'The trainer and every process it started are stopped; checkpoints already written stay, so Relaunch can resume.' }, 'Cancel Run');
  if (ok !== 'Cancel Run') return;
  const after = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Tunekit: cancelling ${run.name}` }, () => controller.service(root).cancel(run.id));
  controller.changedNow();
  void vscode.window.showInformationMessage(`Run ${run.name} is ${after.state}${after.exitCode !== undefined && after.exitCode !== null ? ` (exit ${after.exitCode})` : ''}.`);
}

async function download(controller: RunsController, ref?: RunRecord | string): Promise<void> {
  const found = await resolveRun(controller, ref, (r) => r.state === 'completed', 'Download the outputs of which run?');
  if (!found) return;
  const { run, root } = found;
  const { dir, files } = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Tunekit: downloading the outputs of ${run.name}` }, () => controller.service(root).download(run.id));
  controller.changedNow();
  const pick = await vscode.window.showInformationMessage(`Downloaded ${files.length} file${files.length === 1 ? '' : 's'} of ${run.name} to ${shown(dir)}.`, 'Reveal');
  if (pick) void vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(dir));
}

async function relaunch(controller: RunsController, ref?: RunRecord | string): Promise<void> {
  const found = await resolveRun(controller, ref, (r) => isFinal(r.state), 'Relaunch which run?');
  if (!found) return;
  const { run, root } = found;
  const ok = await vscode.window.showInformationMessage(`Relaunch ${run.name} on ${run.resources}?`, { modal: true, detail: 'It resumes from the newest checkpoint of the previous run when there is one (resume_from_checkpoint).' }, 'Relaunch');
  if (ok !== 'Relaunch') return;
  const next = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Tunekit: relaunching ${run.name}` }, (progress) =>
    controller.service(root).relaunch(run.id, { onPhase: (_p, message) => progress.report({ message }) }),
  );
  controller.launched(next);
  void vscode.window.showInformationMessage(`Run ${next.id} started${next.resumedFrom ? `, resuming from ${next.resumedFrom.checkpoint}` : ' from scratch (no checkpoint found)'}.`);
}

async function terminal(controller: RunsController, ref?: RunRecord | string): Promise<void> {
  const found = await resolveRun(controller, ref, () => true, 'Open a terminal in which run folder?');
  if (!found) return;
  const argv = controller.service(found.root).terminalArgv(found.run.id);
  const t = vscode.window.createTerminal({ name: `Tunekit: ${found.run.name}`, shellPath: argv[0]!, shellArgs: argv.slice(1) });
  t.show();
}

async function showLog(controller: RunsController, ref?: RunRecord | string): Promise<void> {
  const found = await resolveRun(controller, ref, () => true, 'Show the log of which run?');
  if (!found) return;
  const { run, root } = found;
  controller.output.show(true);
  controller.output.appendLine(`──── ${run.name} (${run.id}): ${run.state} on ${run.resources}${run.detail ? ` — ${run.detail}` : ''}`);
  if (!vscode.workspace.isTrusted) return;
  // The whole log once; unfinished runs keep streaming from there.
  const u = await controller.service(root).refresh(run.id, { logFrom: 0 });
  if (u.logChunk) controller.output.append(u.logChunk.endsWith('\n') ? u.logChunk : `${u.logChunk}\n`);
  if (u.run.unreachable) controller.output.appendLine(`(the remote side did not answer: ${u.run.unreachable})`);
  if (!isFinal(u.run.state) && u.logOffset !== undefined) controller.streamLog(run.id, u.logOffset);
  controller.changedNow();
}

async function setSecret(context: vscode.ExtensionContext): Promise<void> {
  // Offer the secret names the open run configs ask for.
  const wanted = new Set<string>();
  for (const d of vscode.workspace.textDocuments) {
    if (!d.uri.fsPath.endsWith('.tunekit.yaml') || !fs.existsSync(d.uri.fsPath)) continue;
    for (const s of readRunConfig(d.uri.fsPath).config?.secrets ?? []) wanted.add(s);
  }
  const items = [...wanted].map((n) => ({ label: n }));
  let name: string | undefined;
  if (items.length) {
    const picked = await vscode.window.showQuickPick([...items, { label: 'Another name…' }], { title: 'Set which secret?' });
    if (!picked) return;
    name = picked.label === 'Another name…' ? undefined : picked.label;
  }
  name ??= await vscode.window.showInputBox({ prompt: 'Secret name (it becomes an environment variable of the trainer, e.g. HF_TOKEN)', validateInput: (v) => (ENV_NAME_RE.test(v) ? undefined : 'Letters, digits and "_", not starting with a digit') });
  if (!name) return;
  const value = await vscode.window.showInputBox({ prompt: `Value of ${name} (stored in VS Code's secret storage; empty deletes it)`, password: true, ignoreFocusOut: true });
  if (value === undefined) return;
  if (value === '') await context.secrets.delete(SECRET_PREFIX + name);
  else await context.secrets.store(SECRET_PREFIX + name, value);
  void vscode.window.showInformationMessage(value === '' ? `Secret ${name} deleted.` : `Secret ${name} stored. Runs receive it as the environment variable ${name}, never in files or arguments.`);
}

import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseSettings, settingsSchema, type Settings } from '../../../server/src/core/settings';
import { RunService, type RunUpdate } from '../../../server/src/runs/launch';
import { isFinal, projectRootFor, RunStore, type RunRecord } from '../../../server/src/runs/records';
import { endMessage } from './present';

/** Where secrets live in VS Code's SecretStorage (never in settings, files or logs). */
export const SECRET_PREFIX = 'tunekit.secret.';

const POLL_MS = 3000;

/**
 * The editor side of runs: builds a `RunService` (the same code as `tunekit run`) per project
 * root with the current settings and secrets, follows unfinished runs (re-attaching to those
 * recorded under `.tunekit/runs` when the window opens), streams their logs to an output channel
 * and tells the user when a run ends, with its real exit state.
 */
export class RunsController implements vscode.Disposable {
  readonly output: vscode.OutputChannel;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  /** Log offsets of the runs whose log is being streamed. */
  private readonly logOffsets = new Map<string, number>();
  /** Last state seen per run, to notice when one ends. */
  private readonly lastState = new Map<string, RunRecord['state']>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(private readonly context: vscode.ExtensionContext) {
    this.output = vscode.window.createOutputChannel('Tunekit Runs');
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.changed.dispose();
    this.output.dispose();
  }

  /** The project root of a config: its workspace folder, else the nearest folder with .tunekit/ or .git/. */
  rootFor(uri: vscode.Uri): string {
    return vscode.workspace.getWorkspaceFolder(uri)?.uri.fsPath ?? projectRootFor(uri.fsPath);
  }

  roots(): string[] {
    return (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
  }

  settings(scope?: vscode.Uri): Settings {
    const cfg = vscode.workspace.getConfiguration('tunekit', scope);
    const raw: Record<string, unknown> = {};
    for (const key of Object.keys(settingsSchema.shape)) {
      const v = cfg.get(key);
      if (v !== undefined) raw[key] = v;
    }
    return parseSettings(raw).settings;
  }

  service(root: string, scope?: vscode.Uri): RunService {
    const settings = this.settings(scope ?? vscode.Uri.file(root));
    return new RunService({
      root,
      settings,
      ...(settings.runs.sshConfigFile ? { ssh: { configFile: settings.runs.sshConfigFile } } : {}),
      getSecret: async (name) => this.context.secrets.get(SECRET_PREFIX + name),
    });
  }

  /** Every recorded run of every workspace folder, newest first. */
  runs(): RunRecord[] {
    const all = this.roots().flatMap((root) => new RunStore(root).list());
    return all.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  find(id: string): { run: RunRecord; root: string } | undefined {
    for (const root of this.roots()) {
      const run = new RunStore(root).get(id);
      if (run) return { run, root };
    }
    return undefined;
  }

  /** Streams a run's log from `from` (0: the whole log) into the output channel. */
  streamLog(id: string, from = 0): void {
    this.logOffsets.set(id, from);
  }

  /** Starts following runs (polling only in trusted workspaces: polling runs ssh). */
  start(): void {
    if (this.timer || !vscode.workspace.isTrusted) return;
    for (const r of this.runs()) this.lastState.set(r.id, r.state);
    this.timer = setInterval(() => void this.tick(), POLL_MS);
    void this.tick();
  }

  changedNow(): void {
    this.changed.fire();
  }

  async tick(): Promise<void> {
    if (this.polling || !vscode.workspace.isTrusted) return;
    this.polling = true;
    try {
      for (const root of this.roots()) {
        const svc = this.service(root);
        for (const r of svc.unfinished()) {
          const from = this.logOffsets.get(r.id);
          let u: RunUpdate;
          try {
            u = await svc.refresh(r.id, from !== undefined ? { logFrom: from } : {});
          } catch (e) {
            this.output.appendLine(`[${r.name}] ${e instanceof Error ? e.message : String(e)}`);
            continue;
          }
          if (u.logChunk) this.output.append(prefixLines(u.logChunk, r.name));
          if (u.logOffset !== undefined) this.logOffsets.set(r.id, u.logOffset);
          this.noticeEnd(u.run);
        }
      }
    } finally {
      this.polling = false;
      this.changed.fire();
    }
  }

  private noticeEnd(run: RunRecord): void {
    const before = this.lastState.get(run.id);
    this.lastState.set(run.id, run.state);
    if (!isFinal(run.state) || before === undefined || isFinal(before)) return;
    this.logOffsets.delete(run.id);
    const { level, text } = endMessage(run);
    const actions = run.state === 'completed' ? ['Download Outputs', 'Show Log'] : ['Show Log', 'Relaunch'];
    const show = level === 'info' ? vscode.window.showInformationMessage : level === 'warning' ? vscode.window.showWarningMessage : vscode.window.showErrorMessage;
    void show(text, ...actions).then((pick) => {
      if (pick === 'Download Outputs') void vscode.commands.executeCommand('tunekit.downloadOutputs', run.id);
      else if (pick === 'Show Log') void vscode.commands.executeCommand('tunekit.showRunLog', run.id);
      else if (pick === 'Relaunch') void vscode.commands.executeCommand('tunekit.relaunchRun', run.id);
    });
  }

  /** Records that a run was just launched here: follow it and stream its log from the start. */
  launched(run: RunRecord): void {
    this.lastState.set(run.id, run.state);
    this.streamLog(run.id, 0);
    this.start();
    this.changed.fire();
  }
}

function prefixLines(text: string, name: string): string {
  const lines = text.split('\n');
  const last = lines.pop();
  const out = lines.map((l) => `[${name}] ${l}\n`).join('');
  return last ? `${out}[${name}] ${last}\n` : out;
}

/** A path for people: relative to the workspace folder when inside it. */
export function shown(p: string): string {
  const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(p));
  return folder ? path.relative(folder.uri.fsPath, p) || p : p;
}

import * as vscode from 'vscode';
import { isFinal, type RunRecord } from '../../../server/src/runs/records';
import type { RunsController } from './controller';
import { runDescription, runTooltip, STATE_ICON, statusBarText } from './present';

/** The Runs view (activity bar), the status-bar item and the "Launch run" CodeLens on run configs. */

const MAX_SHOWN = 100;

export class RunsTreeProvider implements vscode.TreeDataProvider<RunRecord> {
  private readonly emitter = new vscode.EventEmitter<RunRecord | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;

  constructor(private readonly controller: RunsController) {
    controller.onDidChange(() => this.emitter.fire(undefined));
  }

  getChildren(element?: RunRecord): RunRecord[] {
    return element ? [] : this.controller.runs().slice(0, MAX_SHOWN);
  }

  getTreeItem(r: RunRecord): vscode.TreeItem {
    const item = new vscode.TreeItem(r.name, vscode.TreeItemCollapsibleState.None);
    item.id = r.id;
    item.description = runDescription(r);
    const icon = STATE_ICON[r.state];
    item.iconPath = new vscode.ThemeIcon(icon.icon, icon.color ? new vscode.ThemeColor(icon.color) : undefined);
    item.tooltip = new vscode.MarkdownString(runTooltip(r));
    // Menus key on these: tunekitRun.active / tunekitRun.final.completed …
    item.contextValue = isFinal(r.state) ? `tunekitRun.final.${r.state}` : 'tunekitRun.active';
    item.command = { command: 'tunekit.showRunLog', title: 'Show Log', arguments: [r.id] };
    return item;
  }
}

export function createStatusBar(controller: RunsController): vscode.Disposable {
  const item = vscode.window.createStatusBarItem('tunekit.runs', vscode.StatusBarAlignment.Left, 10);
  item.name = 'Tunekit Runs';
  item.command = 'tunekit.runs.focus';
  const update = (): void => {
    const active = controller.runs().filter((r) => !isFinal(r.state));
    const text = statusBarText(active);
    if (!text) {
      item.hide();
      return;
    }
    item.text = text;
    item.tooltip = active.map((r) => `${r.name}: ${runDescription(r)} — ${r.resources}`).join('\n');
    item.show();
  };
  const sub = controller.onDidChange(update);
  update();
  return vscode.Disposable.from(item, sub);
}

export class RunConfigCodeLens implements vscode.CodeLensProvider {
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.emitter.event;

  constructor(private readonly controller: RunsController) {
    controller.onDidChange(() => this.emitter.fire());
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const text = document.getText();
    const m = /^name\s*:/m.exec(text);
    const line = m ? document.positionAt(m.index).line : 0;
    const range = new vscode.Range(line, 0, line, 0);
    const lenses = [new vscode.CodeLens(range, { title: '$(rocket) Launch run', command: 'tunekit.launchRun', arguments: [document.uri] })];
    const active = this.controller.runs().filter((r) => r.configPath === document.uri.fsPath && !isFinal(r.state));
    for (const r of active.slice(0, 3)) lenses.push(new vscode.CodeLens(range, { title: `$(${STATE_ICON[r.state].icon}) ${runDescription(r)}`, command: 'tunekit.showRunLog', arguments: [r.id] }));
    return lenses;
  }
}

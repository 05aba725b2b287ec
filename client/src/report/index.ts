import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { CONVERT_TARGETS, type ConvertTarget } from '../../../server/src/core/convert';
import { convertRequest, splitRequest, type ConvertParams, type SplitParams } from '../../../server/src/protocol/report';
import { ReportPanel } from './panel';

/**
 * Client side of the dataset report and the data commands: `Tunekit: Show Dataset Report`,
 * `Tunekit: Split Train/Validation` and `Tunekit: Convert Dataset`. The server does the work
 * (protocol/report.ts); this module asks through quick picks and shows the outcome.
 */

const DATASET = /\.(jsonl|ndjson|json)$/i;

/** The dataset a command is about: its argument (explorer, editor title), else the active editor's document. */
function targetUri(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  const doc = vscode.window.activeTextEditor?.document;
  if (doc && (DATASET.test(doc.uri.path) || doc.languageId === 'jsonl')) return doc.uri;
  void vscode.window.showInformationMessage('Tunekit: open a dataset file (.jsonl or .json) first.');
  return undefined;
}

const FORMAT_DESCRIPTIONS: Record<ConvertTarget, string> = {
  openai: 'OpenAI chat: {"messages": [{"role", "content"}]}, images as image_url parts',
  'messages+media': 'LLaMA-Factory / ms-swift: messages with <image> placeholders and an images list',
  sharegpt: 'ShareGPT: {"conversations": [{"from", "value"}]} (LLaVA, InternVL, Qwen-VL, LLaMA-Factory)',
  'minicpm-v': 'MiniCPM-V: {"image", "conversations": [{"role", "content"}]}',
  alpaca: 'Alpaca: {"instruction", "input", "output", "history"}',
};

export function registerReport(context: vscode.ExtensionContext, client: LanguageClient): void {
  const output = vscode.window.createOutputChannel('Tunekit Convert');
  context.subscriptions.push(
    output,
    vscode.commands.registerCommand('tunekit.showReport', (arg?: unknown) => {
      const uri = targetUri(arg);
      if (uri) ReportPanel.show(context, client, uri);
    }),
    vscode.commands.registerCommand('tunekit.splitDataset', async (arg?: unknown) => {
      const uri = targetUri(arg);
      if (!uri) return;
      const size = await vscode.window.showQuickPick(
        [
          { label: '10%', description: 'of the records for validation', value: 0.1 },
          { label: '5%', description: 'for large datasets', value: 0.05 },
          { label: '20%', description: 'for small datasets', value: 0.2 },
          { label: 'A number of records…', value: -1 },
        ],
        { title: 'Tunekit: Split Train/Validation', placeHolder: 'How much goes to validation?' },
      );
      if (!size) return;
      let validation = size.value;
      if (validation < 0) {
        const n = await vscode.window.showInputBox({ title: 'Validation records', prompt: 'How many records go to validation?', validateInput: (v) => (/^\d+$/.test(v.trim()) && Number(v) >= 1 ? undefined : 'A whole number ≥ 1') });
        if (n === undefined) return;
        validation = Number(n);
      }
      const seedText = await vscode.window.showInputBox({ title: 'Seed', prompt: 'The same seed gives the same split every time.', value: '42', validateInput: (v) => (/^-?\d+$/.test(v.trim()) ? undefined : 'A whole number') });
      if (seedText === undefined) return;
      const stratify = await vscode.window.showQuickPick(
        [
          { label: 'Stratify by label', description: 'keep each label’s share in both files (when the data has labels)', value: true },
          { label: 'Plain random split', value: false },
        ],
        { title: 'Tunekit: Split Train/Validation' },
      );
      if (!stratify) return;
      const params: SplitParams = { uri: uri.toString(), validation, seed: Number(seedText), stratify: stratify.value };
      let result = await client.sendRequest(splitRequest, params);
      if (result.exists?.length) {
        const names = result.exists.map((u) => path.basename(vscode.Uri.parse(u).path)).join(' and ');
        if ((await vscode.window.showWarningMessage(`${names} already exist${result.exists.length === 1 ? 's' : ''}. Overwrite?`, { modal: true }, 'Overwrite')) !== 'Overwrite') return;
        result = await client.sendRequest(splitRequest, { ...params, force: true });
      }
      if (!result.ok) {
        void vscode.window.showErrorMessage(`Tunekit could not split ${path.basename(uri.path)}: ${result.error ?? 'unknown error'}`);
        return;
      }
      const how = result.strata ? `stratified over ${result.strata} labels` : 'not stratified (no labels)';
      const choice = await vscode.window.showInformationMessage(
        `Tunekit: ${result.train!.toLocaleString()} train and ${result.validation!.toLocaleString()} validation records (${how}, seed ${params.seed}).`,
        'Open Train',
        'Open Validation',
      );
      if (choice === 'Open Train') await vscode.window.showTextDocument(vscode.Uri.parse(result.trainUri!));
      if (choice === 'Open Validation') await vscode.window.showTextDocument(vscode.Uri.parse(result.validationUri!));
    }),
    vscode.commands.registerCommand('tunekit.convertDataset', async (arg?: unknown, toArg?: unknown) => {
      const uri = targetUri(arg);
      if (!uri) return;
      let to = (CONVERT_TARGETS as readonly unknown[]).includes(toArg) ? (toArg as ConvertTarget) : undefined;
      if (!to) {
        const pick = await vscode.window.showQuickPick(
          CONVERT_TARGETS.map((t): vscode.QuickPickItem & { label: ConvertTarget } => ({ label: t, description: FORMAT_DESCRIPTIONS[t] })),
          { title: 'Tunekit: Convert Dataset', placeHolder: 'Convert to which format?' },
        );
        if (!pick) return;
        to = pick.label;
      }
      const ext = path.extname(uri.path).toLowerCase() === '.json' ? '.json' : '.jsonl';
      const defaultUri = vscode.Uri.joinPath(uri, '..', `${path.basename(uri.path, path.extname(uri.path))}.${to.replace('+', '-')}${ext}`);
      const target = await vscode.window.showSaveDialog({ defaultUri, title: `Convert to ${to}`, filters: { 'JSON Lines': ['jsonl'], 'JSON array': ['json'] } });
      if (!target) return;
      // The save dialog already asked about overwriting.
      const params: ConvertParams = { uri: uri.toString(), to, outputUri: target.toString(), force: true };
      const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Tunekit: converting ${path.basename(uri.path)} to ${to}` }, () =>
        client.sendRequest(convertRequest, params),
      );
      if (!result.ok) {
        void vscode.window.showErrorMessage(`Tunekit could not convert ${path.basename(uri.path)}: ${result.error ?? 'unknown error'}`);
        return;
      }
      output.clear();
      for (const w of result.warnings) output.appendLine(`${uri.fsPath}:${w.line}: ${w.message}`);
      const lossy = result.lossy ? `; ${result.lossy.toLocaleString()} with warnings` : '';
      const skipped = result.skipped ? `; ${result.skipped.toLocaleString()} skipped` : '';
      const message = `Tunekit: ${result.written!.toLocaleString()} of ${result.records!.toLocaleString()} records converted to ${to}${lossy}${skipped}.`;
      const buttons = ['Open', ...(result.warnings.length ? ['Show Warnings'] : [])];
      const choice = await (result.skipped || result.lossy ? vscode.window.showWarningMessage(message, ...buttons) : vscode.window.showInformationMessage(message, ...buttons));
      if (choice === 'Open') await vscode.window.showTextDocument(vscode.Uri.parse(result.outputUri!));
      if (choice === 'Show Warnings') output.show();
    }),
  );
}

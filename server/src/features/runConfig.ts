import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, isScalar } from 'yaml';
import {
  CompletionItemKind,
  DiagnosticSeverity,
  DocumentDiagnosticReportKind,
  MarkupKind,
  type CompletionItem,
  type Diagnostic,
  type DocumentDiagnosticReport,
  type Hover,
  type HoverParams,
} from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { completionsAt, hoverMarkdown } from '../runs/configHelp';
import { cursorContext, nodeAt, parseRunConfig, type ConfigProblem } from '../runs/configYaml';
import { guarded, type Feature, type FeatureContext } from './context';

/**
 * Run configs (`*.tunekit.yaml`) in the language server: diagnostics on the exact YAML node (the
 * zod schema plus "does this dataset file exist"), completion of field names and enum values, and
 * hover documentation for every field, all read from `runs/schema.ts`. Diagnostics and hover are
 * served through the diagnostics and hover features, which hand run configs to the functions here
 * (the connection allows one handler per request); completion is registered here.
 */

export function isRunConfigUri(uri: string): boolean {
  return /\.tunekit\.ya?ml$/i.test(uri);
}

export const runConfigFeature: Feature = {
  name: 'runConfig',
  capabilities: { completionProvider: { triggerCharacters: [':', ' '], resolveProvider: false } },
  register: registerRunConfig,
};

export function registerRunConfig(ctx: FeatureContext): void {
  ctx.connection.onCompletion((params) =>
    guarded(ctx, 'run config completion', () => [], (): CompletionItem[] => {
      if (!isRunConfigUri(params.textDocument.uri)) return [];
      const document = ctx.documents.get(params.textDocument.uri);
      if (!document) return [];
      return runConfigCompletions(document, document.offsetAt(params.position));
    }),
  );
}

/** Diagnostics of a run config document (pull model; the diagnostics feature delegates here). */
export function runConfigDiagnostics(ctx: Pick<FeatureContext, 'documents'>, uri: string): DocumentDiagnosticReport {
  const document = ctx.documents.get(uri);
  if (!document) return { kind: DocumentDiagnosticReportKind.Full, items: [] };
  return { kind: DocumentDiagnosticReportKind.Full, items: runConfigDiagnosticsOf(document) };
}

export function runConfigDiagnosticsOf(document: TextDocument): Diagnostic[] {
  const text = document.getText();
  const parsed = parseRunConfig(text);
  const problems: ConfigProblem[] = [...parsed.problems];
  const dir = configDir(document.uri);
  const datasets = parsed.doc.toJS() as { datasets?: unknown } | null;
  if (dir && Array.isArray(datasets?.datasets)) {
    datasets.datasets.forEach((d: unknown, i: number) => {
      const p = d && typeof d === 'object' ? (d as Record<string, unknown>)['path'] : undefined;
      if (typeof p !== 'string' || p === '') return;
      if (fs.existsSync(path.resolve(dir, p))) return;
      const node = nodeAt(parsed.doc, ['datasets', i, 'path']);
      if (!node?.range) return;
      problems.push({ start: node.range[0], end: node.range[1], severity: 'error', path: ['datasets', i, 'path'], message: `${p} does not exist (dataset paths are relative to this config file); the launch would be refused.` });
    });
  }
  return problems.map((p) => ({
    range: { start: document.positionAt(p.start), end: document.positionAt(Math.max(p.end, p.start + 1)) },
    severity: p.severity === 'error' ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
    source: 'tunekit',
    code: 'run-config',
    message: p.message,
  }));
}

/** Hover on a run config field (the hover feature delegates here). */
export function runConfigHover(ctx: Pick<FeatureContext, 'documents'>, params: HoverParams): Hover | null {
  const document = ctx.documents.get(params.textDocument.uri);
  if (!document) return null;
  const text = document.getText();
  const parsed = parseRunConfig(text);
  const c = cursorContext(parsed.doc, text, document.offsetAt(params.position));
  if (c.path.length === 0) return null;
  const value = hoverMarkdown(c.path, parsed.doc.toJS());
  if (!value) return null;
  return { contents: { kind: MarkupKind.Markdown, value }, ...(c.range ? { range: { start: document.positionAt(c.range[0]), end: document.positionAt(c.range[1]) } } : {}) };
}

export function runConfigCompletions(document: TextDocument, offset: number): CompletionItem[] {
  const text = document.getText();
  const parsed = parseRunConfig(text);
  const c = cursorContext(parsed.doc, text, offset);
  // On an existing key the candidates are its siblings, and the key is replaced, not appended to.
  const onExistingKey = c.onKey && c.range !== undefined;
  const mapPath = onExistingKey ? c.path.slice(0, -1) : c.path;
  const present = new Set<string>();
  const map = mapPath.length ? nodeAt(parsed.doc, mapPath) : parsed.doc.contents;
  if (c.onKey && isMap(map)) for (const item of map.items) if (isScalar(item.key)) present.add(String(item.key.value));
  if (onExistingKey) present.delete(String(c.path[c.path.length - 1]));
  const replace = c.range ? { start: document.positionAt(c.range[0]), end: document.positionAt(c.range[1]) } : undefined;
  return completionsAt(mapPath, c.onKey, parsed.doc.toJS(), present).map((x) => {
    const newText = onExistingKey ? x.label : x.insertText;
    return {
      label: x.label,
      kind: x.kind === 'property' ? CompletionItemKind.Property : CompletionItemKind.EnumMember,
      ...(replace ? { textEdit: { range: replace, newText } } : { insertText: newText }),
      ...(x.detail ? { detail: x.detail } : {}),
      ...(x.documentation ? { documentation: { kind: MarkupKind.Markdown, value: x.documentation } } : {}),
    };
  });
}

function configDir(uri: string): string | undefined {
  if (!uri.startsWith('file:')) return undefined;
  try {
    return path.dirname(fileURLToPath(uri));
  } catch {
    return undefined;
  }
}

import {
  DiagnosticSeverity,
  DocumentDiagnosticReportKind,
  type Diagnostic,
  type DocumentDiagnosticReport,
} from 'vscode-languageserver/node';
import type { Severity } from '../core/types';
import type { Finding, LocatedFix } from '../core/validator';
import { guarded, type Feature, type FeatureContext } from './context';
import { isRunConfigUri, runConfigDiagnostics } from './runConfig';

/**
 * Pull diagnostics (LSP 3.17 `textDocument/diagnostic`): the client decides when to pull (on
 * change, on save), the server validates on demand through the document store.
 */

/** What every Tunekit diagnostic carries in `data`, for code actions. */
export interface TunekitDiagnosticData {
  /** The record's index in the file (-1 for file-level problems). */
  record: number;
  /** Fixes with absolute ranges, valid for the document version the diagnostic was computed on. */
  fixes?: LocatedFix[];
  /** The rule's machine-readable extras (`Finding.data`). */
  extra?: Record<string, unknown>;
}

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  info: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

/** The one conversion from a core finding to an LSP diagnostic (ranges are already 0-based lines and UTF-16 columns). */
export function toDiagnostic(f: Finding): Diagnostic {
  const data: TunekitDiagnosticData = { record: f.record };
  if (f.fixes?.length) data.fixes = f.fixes;
  if (f.data) data.extra = f.data;
  return {
    range: { start: { ...f.range.start }, end: { ...f.range.end } },
    severity: SEVERITY[f.severity],
    code: f.code,
    source: 'tunekit',
    message: f.message,
    data,
  };
}

export const diagnosticsFeature: Feature = {
  name: 'diagnostics',
  capabilities: {
    diagnosticProvider: { identifier: 'tunekit', interFileDependencies: false, workspaceDiagnostics: false },
  },
  register: registerDiagnostics,
};

export function registerDiagnostics(ctx: FeatureContext): void {
  const empty: DocumentDiagnosticReport = { kind: DocumentDiagnosticReportKind.Full, items: [] };

  ctx.connection.languages.diagnostics.on((params) =>
    guarded(ctx, `diagnostics for ${params.textDocument.uri}`, () => lastKnown(ctx, params.textDocument.uri) ?? empty, async () => {
      if (isRunConfigUri(params.textDocument.uri)) return runConfigDiagnostics(ctx, params.textDocument.uri);
      const answer = await ctx.store.getResult(params.textDocument.uri);
      if (!answer?.isDataset) return empty;
      const { resultId, result } = answer.validated;
      if (params.previousResultId === resultId) return { kind: DocumentDiagnosticReportKind.Unchanged, resultId };
      return { kind: DocumentDiagnosticReportKind.Full, resultId, items: result.findings.map(toDiagnostic) };
    }),
  );

  // Settings apply to every open document: forget them (and the validators built on them) and let
  // the client pull again.
  ctx.events.onDidChangeConfiguration((params) => {
    ctx.store.reloadSettings(params.settings);
    ctx.store.refresh();
  });
}

/** The diagnostics of the last good validation, shown while validation fails. */
function lastKnown(ctx: FeatureContext, uri: string): DocumentDiagnosticReport | undefined {
  const last = ctx.store.peek(uri)?.lastResult;
  return last ? { kind: DocumentDiagnosticReportKind.Full, items: last.result.findings.map(toDiagnostic) } : undefined;
}

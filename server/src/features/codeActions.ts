import { CodeActionKind, type CodeAction, type CodeActionParams, type Diagnostic, type Range, type TextEdit, type WorkspaceEdit } from 'vscode-languageserver/node';
import { pickFixes } from '../core/fixes';
import type { AbsoluteRange } from '../core/records/positions';
import type { Finding, LocatedFix } from '../core/validator';
import { guarded, type Feature, type FeatureContext } from './context';
import { toDiagnostic } from './diagnostics';

/**
 * Quick fixes (LSP `textDocument/codeAction`), keyed on diagnostic codes through the fixes the
 * rules attach to their findings. Each action is one `WorkspaceEdit` bound to the document
 * version it was computed on, so it applies as one undo step and never onto a changed text:
 * - the finding's own fix (safe ones preferred);
 * - "… in all N records" when other findings share the fix's group (same token, same role, same
 *   repeated span);
 * - `source.fixAll.tunekit`: every safe fix of the document that can apply together.
 */

export const FIX_ALL_KIND = `${CodeActionKind.SourceFixAll}.tunekit`;

export const codeActionsFeature: Feature = {
  name: 'codeActions',
  capabilities: { codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix, FIX_ALL_KIND], resolveProvider: false } },
  register: registerCodeActions,
};

export function registerCodeActions(ctx: FeatureContext): void {
  ctx.connection.onCodeAction((params) => guarded(ctx, `code actions for ${params.textDocument.uri}`, (): CodeAction[] => [], () => codeActions(ctx, params)));
}

async function codeActions(ctx: FeatureContext, params: CodeActionParams): Promise<CodeAction[]> {
  const uri = params.textDocument.uri;
  const answer = await ctx.store.getResult(uri);
  if (!answer?.isDataset) return [];
  const document = ctx.documents.get(uri);
  if (!document || document.version !== answer.validated.version) return [];
  const version = document.version;
  const findings = answer.validated.result.findings;
  const only = params.context.only;
  const wants = (kind: string): boolean => !only || only.some((o) => kind === o || kind.startsWith(`${o}.`));
  const actions: CodeAction[] = [];
  const edit = (edits: TextEdit[]): WorkspaceEdit => ({ documentChanges: [{ textDocument: { uri, version }, edits }] });

  if (wants(CodeActionKind.QuickFix)) {
    const groups = groupsOf(findings);
    const offered = new Set<string>();
    for (const f of findings) {
      if (!f.fixes?.length || !overlaps(f.range, params.range)) continue;
      const diagnostic = matchingDiagnostic(params.context.diagnostics, f) ?? toDiagnostic(f);
      for (const fix of f.fixes) {
        if (fix.edits.length === 0) continue;
        actions.push({
          title: fix.title,
          kind: CodeActionKind.QuickFix,
          diagnostics: [diagnostic],
          isPreferred: fix.safe,
          edit: edit(textEdits([fix])),
        });
        const group = fix.groupKey ? groups.get(fix.groupKey) : undefined;
        if (group && group.findings.length > 1 && !offered.has(fix.groupKey!)) {
          offered.add(fix.groupKey!);
          const picked = pickFixes(group.fixes, (x) => x.edits.map((e) => e.range), comparePositions);
          actions.push({
            title: `${fix.title} (all ${group.findings.length} records)`,
            kind: CodeActionKind.QuickFix,
            diagnostics: group.findings.map((g) => matchingDiagnostic(params.context.diagnostics, g) ?? toDiagnostic(g)),
            edit: edit(textEdits(picked)),
          });
        }
      }
    }
  }

  if (wants(FIX_ALL_KIND)) {
    const safe = findings.flatMap((f) => (f.fixes ?? []).filter((x) => x.safe && x.edits.length > 0));
    const picked = pickFixes(safe, (x) => x.edits.map((e) => e.range), comparePositions);
    if (picked.length > 0) {
      actions.push({
        title: `Fix all safe problems in file (${picked.length})`,
        kind: FIX_ALL_KIND,
        diagnostics: findings.filter((f) => f.fixes?.some((x) => picked.includes(x))).map(toDiagnostic),
        edit: edit(textEdits(picked)),
      });
    }
  }
  return actions;
}

/** Findings and their fixes by fix group. */
function groupsOf(findings: readonly Finding[]): Map<string, { findings: Finding[]; fixes: LocatedFix[] }> {
  const groups = new Map<string, { findings: Finding[]; fixes: LocatedFix[] }>();
  for (const f of findings) {
    for (const fix of f.fixes ?? []) {
      if (!fix.groupKey || fix.edits.length === 0) continue;
      let g = groups.get(fix.groupKey);
      if (!g) groups.set(fix.groupKey, (g = { findings: [], fixes: [] }));
      if (!g.findings.includes(f)) g.findings.push(f);
      g.fixes.push(fix);
    }
  }
  return groups;
}

function textEdits(fixes: readonly LocatedFix[]): TextEdit[] {
  return fixes.flatMap((f) => f.edits.map((e) => ({ range: { start: { ...e.range.start }, end: { ...e.range.end } }, newText: e.newText })));
}

/** The client's own diagnostic for a finding (same code and range), so the editor ties the fix to it. */
function matchingDiagnostic(diagnostics: readonly Diagnostic[], f: Finding): Diagnostic | undefined {
  return diagnostics.find((d) => d.code === f.code && d.source === 'tunekit' && sameRange(d.range, f.range));
}

type Position = AbsoluteRange['start'];

function comparePositions(a: Position, b: Position): number {
  return a.line - b.line || a.character - b.character;
}

function sameRange(a: Range, b: AbsoluteRange): boolean {
  return comparePositions(a.start, b.start) === 0 && comparePositions(a.end, b.end) === 0;
}

/** Closed-range overlap: a cursor touching either end of a diagnostic counts. */
function overlaps(a: AbsoluteRange, b: Range): boolean {
  return comparePositions(a.start, b.end) <= 0 && comparePositions(b.start, a.end) <= 0;
}

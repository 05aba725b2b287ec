import type { CodeLens } from 'vscode-languageserver/node';
import { guarded, type Feature, type FeatureContext } from './context';

/**
 * A "Preview sample" CodeLens on every record that carries media; it runs the client command
 * `tunekit.previewSample` with the document and the record's index.
 */

/** Lenses per document at most: beyond this the editor would spend more on lenses than on text. */
export const MAX_PREVIEW_LENSES = 5000;

export const codeLensFeature: Feature = {
  name: 'codeLens',
  capabilities: { codeLensProvider: { resolveProvider: false } },
  register: registerCodeLens,
};

export function registerCodeLens(ctx: FeatureContext): void {
  ctx.connection.onCodeLens((params) =>
    guarded(ctx, 'code lens', () => [], async (): Promise<CodeLens[]> => {
      const answer = await ctx.store.getResult(params.textDocument.uri);
      if (!answer?.isDataset) return [];
      const lenses: CodeLens[] = [];
      for (const s of answer.validated.result.summaries) {
        const n = s.media.image + s.media.video + s.media.audio;
        if (n === 0) continue;
        const what = s.media.image && !s.media.video && !s.media.audio ? `${n} image${n === 1 ? '' : 's'}` : `${n} media`;
        lenses.push({
          range: { start: { line: s.line, character: s.column }, end: { line: s.line, character: s.column } },
          command: { title: `$(eye) Preview sample (${what})`, command: 'tunekit.previewSample', arguments: [params.textDocument.uri, s.index] },
        });
        if (lenses.length >= MAX_PREVIEW_LENSES) break;
      }
      return lenses;
    }),
  );
}

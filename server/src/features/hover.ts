import { findNodeAtOffset, getNodePath, parseTree, type Node } from 'jsonc-parser';
import type { Hover } from 'vscode-languageserver/node';
import { MarkupKind } from 'vscode-languageserver/node';
import type { FormatContext } from '../core/formats';
import { bindPlaceholder, kindNoun, listedMedia, resolveMedia, samePath } from '../core/media';
import { parseRecord } from '../core/preview';
import { exceedsNesting, MAX_LOCATE_DEPTH, rawOffsetInString } from '../core/records/locate';
import { estimateTokens } from '../core/tokens';
import type { MediaRef } from '../core/types';
import { mediaHoverMarkdown, recordHoverMarkdown } from '../node/hoverMarkdown';
import { guarded, type Feature, type FeatureContext } from './context';
import { mediaServicesFor } from './media';
import { recordAt } from './records';
import { isRunConfigUri, runConfigHover } from './runConfig';

/**
 * Hover: on a media reference (a path, a data: URI, a MiniCPM-V map entry, an `<image>`
 * placeholder or a Qwen-VL `<img>` path) the image itself with its size and type; anywhere else
 * in a record, the record's format, turns, media and approximate tokens.
 */

export const hoverFeature: Feature = {
  name: 'hover',
  capabilities: { hoverProvider: true },
  register: registerHover,
};

export function registerHover(ctx: FeatureContext): void {
  const probe = mediaServicesFor(ctx).mediaProbe;
  ctx.connection.onHover((params) =>
    guarded(ctx, 'hover', () => null, async (): Promise<Hover | null> => {
      if (isRunConfigUri(params.textDocument.uri)) return runConfigHover(ctx, params);
      const answer = await ctx.store.getResult(params.textDocument.uri);
      const document = ctx.documents.get(params.textDocument.uri);
      if (!answer?.isDataset || !document) return null;
      const rec = recordAt(document, answer.validated.result.summaries, params.position);
      if (!rec) return null;
      const formatContext = answer.state.validator.formatContext;
      const offset = document.offsetAt(params.position) - rec.start;
      const target = mediaTargetAt(rec.text, offset, formatContext);
      if (target) {
        const opts = { fetchRemote: formatContext.settings.media.fetchRemote, ...(target.record ? { record: target.record } : {}) };
        let resolved = resolveMedia(target.media.ref, formatContext, probe, opts);
        if (resolved.pending) {
          await probe.settled();
          resolved = resolveMedia(target.media.ref, formatContext, probe, opts);
        }
        const value = mediaHoverMarkdown({
          kind: target.media.kind,
          ref: target.media.ref,
          resolved,
          hoverSize: formatContext.settings.preview.hoverSize,
          fetchRemote: formatContext.settings.media.fetchRemote,
          ...(target.heading ? { heading: target.heading } : {}),
        });
        return { contents: { kind: MarkupKind.Markdown, value }, range: { start: document.positionAt(rec.start + target.start), end: document.positionAt(rec.start + target.end) } };
      }
      const s = rec.summary;
      const value = recordHoverMarkdown({
        record: s.index,
        line: s.line,
        ...(s.format ? { format: s.format } : {}),
        turns: s.turns,
        media: s.media,
        approxTokens: s.approxTokens > 0 ? s.approxTokens : estimateTokens(rec.text),
      });
      return { contents: { kind: MarkupKind.Markdown, value } };
    }),
  );
}

interface MediaTarget {
  media: MediaRef;
  /** Record-relative range the hover covers. */
  start: number;
  end: number;
  heading?: string;
  record?: Record<string, unknown>;
}

/** The media reference at `offset` of a record's text: a media value, a map key, a placeholder or an inline `<img>` path. */
export function mediaTargetAt(text: string, offset: number, ctx: FormatContext): MediaTarget | undefined {
  const parsed = parseRecord(text, ctx);
  if (!parsed.sample || !parsed.scan) return undefined;
  // jsonc-parser recurses per nesting level; a record nested thousands deep would overflow it.
  if (exceedsNesting(text, MAX_LOCATE_DEPTH)) return undefined;
  const tree = parseTree(text);
  if (!tree) return undefined;
  let node: Node | undefined = findNodeAtOffset(tree, offset, true);
  if (!node || node.type !== 'string') return undefined;
  const { sample, scan } = parsed;
  const record = parsed.value;
  const at = (m: MediaRef, n: Node, heading?: string): MediaTarget => ({ media: m, start: n.offset, end: n.offset + n.length, ...(heading ? { heading } : {}), ...(record ? { record } : {}) });
  // A MiniCPM-V map key ("<image_00>": path) stands for its entry.
  const parent = node.parent;
  if (parent?.type === 'property' && parent.children?.[0] === node && parent.children[1]) {
    const keyNode = node;
    node = parent.children[1];
    const valuePath = getNodePath(node);
    const m = sample.media.find((x) => samePath(x.path, valuePath));
    return m ? at(m, keyNode) : undefined;
  }
  const path = getNodePath(node);
  const direct = sample.media.find((m) => samePath(m.path, path));
  if (direct) return at(direct, node);
  for (const m of scan.inline) {
    if (!samePath(m.path, path)) continue;
    const start = rawOffsetInString(text, node.offset, m.span.start);
    const end = rawOffsetInString(text, node.offset, m.span.start + m.span.length);
    if (offset >= start && offset <= end) return { media: m, start, end, ...(record ? { record } : {}) };
  }
  for (const p of scan.placeholders) {
    if (!samePath(p.piece.path, path)) continue;
    const start = rawOffsetInString(text, node.offset, p.start);
    const end = rawOffsetInString(text, node.offset, p.start + p.length);
    if (offset < start || offset > end) continue;
    const bound = bindPlaceholder(sample, scan, p);
    if (!bound) return undefined;
    const same = p.numbered ? [] : scan.placeholders.filter((q) => !q.numbered && q.kind === p.kind);
    const which = p.numbered ? '' : ` ${same.indexOf(p) + 1} of ${same.length}`;
    const entry = bound.path.map((x) => (typeof x === 'number' ? `[${x}]` : `.${x}`)).join('').replace(/^\./, '');
    const listed = listedMedia(sample).filter((m) => m.kind === p.kind).length;
    const heading = `\`${p.token}\`${which} → ${entry}${!p.numbered && listed ? ` (${listed} ${kindNoun(p.kind, listed)} listed)` : ''}`;
    return { media: bound, start, end, heading, ...(record ? { record } : {}) };
  }
  return undefined;
}

import type { Node } from 'jsonc-parser';
import { StringEditor } from '../leakage/edits';
import { RecordLocator } from '../records/locate';
import type { Fix, JsonPath, MediaKind, MediaRef, RecordEdit } from '../types';
import type { RecordRuleContext } from './rule';

/**
 * Quick fixes of the Modalities codes: insert the missing placeholders, drop the media entries
 * no placeholder uses, drop an extra placeholder. Edits are minimal: inside the first user text
 * for a placeholder, the array element (with its comma) or map entry for a media entry.
 */

/**
 * Inserts `count` missing `<kind>` placeholders at the start of the first user text. Safe when the
 * text has no placeholder of that kind yet (then every listed item binds in order); with some
 * already there, where the missing ones belong is a judgement, so the fix is offered but not safe.
 */
export function insertPlaceholderFix(ctx: RecordRuleContext, kind: MediaKind, count: number, existing: number): Fix[] | undefined {
  const turn = ctx.sample.turns.find((t) => t.role === 'user');
  const piece = turn?.texts[0];
  if (!piece || count <= 0) return undefined;
  // LLaVA writes "<image>\n" before the question; LLaMA-Factory's demos put it right before the text.
  const sep = ctx.settings.target === 'llava' ? '\n' : '';
  const token = `<${kind}>`;
  const edit = new StringEditor(ctx.record.text).edit(piece.path, piece.text, { start: 0, end: 0, newText: (token + sep).repeat(count) });
  if (!edit) return undefined;
  return [
    {
      title: count === 1 ? `Insert the missing ${token} placeholder` : `Insert ${count} missing ${token} placeholders`,
      edits: [edit],
      safe: existing === 0,
      ...(existing === 0 ? { groupKey: `media-token-mismatch:insert:${kind}` } : {}),
    },
  ];
}

/** Drops the listed media no placeholder uses (the last ones: placeholders bind in order). */
export function dropUnusedMediaFix(ctx: RecordRuleContext, unused: readonly MediaRef[]): Fix[] | undefined {
  if (unused.length === 0) return undefined;
  const locator = new RecordLocator(ctx.record.text);
  const edits: RecordEdit[] = [];
  for (const m of unused) {
    const edit = removeEntry(locator, entryPath(m));
    if (!edit) return undefined;
    edits.push(edit);
  }
  const what = unused.length === 1 ? `the unused ${unused[0]!.kind} "${unused[0]!.ref}"` : `the ${unused.length} unused media entries`;
  return [{ title: `Remove ${what}`, edits: mergeAdjacent(edits), safe: false }];
}

/** Removes one placeholder from its text (with the line break or space that follows it). */
export function dropPlaceholderFix(ctx: RecordRuleContext, path: JsonPath, text: string, start: number, length: number): Fix[] | undefined {
  let end = start + length;
  if (text[end] === '\n' || text[end] === ' ') end++;
  const edit = new StringEditor(ctx.record.text).edit(path, text, { start, end, newText: '' });
  return edit ? [{ title: `Remove the extra ${text.slice(start, start + length)} placeholder`, edits: [edit], safe: false }] : undefined;
}

/** The array element or map entry holding a media reference (an item object's `path`/`url` belongs to its item). */
function entryPath(m: MediaRef): JsonPath {
  const last = m.path[m.path.length - 1];
  return (last === 'path' || last === 'url') && m.path.length >= 3 ? m.path.slice(0, -1) : m.path;
}

/** The edit removing an array element or an object property, with the comma that separates it. */
function removeEntry(locator: RecordLocator, path: JsonPath): RecordEdit | undefined {
  const node = locator.node(path);
  if (!node || !node.parent) return undefined;
  // A map entry is its property node; an array element is the node itself.
  const entry: Node = node.parent.type === 'property' ? node.parent : node;
  const container = entry.parent;
  if (!container?.children || (container.type !== 'array' && container.type !== 'object')) return undefined;
  const i = container.children.indexOf(entry);
  if (i < 0 || (container.type === 'array' && path[path.length - 1] !== i)) return undefined;
  const prev = container.children[i - 1];
  const next = container.children[i + 1];
  if (prev) return { start: prev.offset + prev.length, end: entry.offset + entry.length, newText: '' };
  if (next) return { start: entry.offset, end: next.offset, newText: '' };
  return { start: entry.offset, end: entry.offset + entry.length, newText: '' };
}

/** Removing the last two elements of a list yields two edits that touch; join them so they apply as one. */
function mergeAdjacent(edits: RecordEdit[]): RecordEdit[] {
  const sorted = [...edits].sort((a, b) => a.start - b.start);
  const out: RecordEdit[] = [];
  for (const e of sorted) {
    const last = out[out.length - 1];
    if (last && last.end >= e.start) last.end = Math.max(last.end, e.end);
    else out.push({ ...e });
  }
  return out;
}

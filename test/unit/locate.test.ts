import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { findNodeAtLocation, parseTree, type Node } from 'jsonc-parser';
import { RecordLocator, seekPath } from '../../server/src/core/records/locate';
import type { JsonPath } from '../../server/src/core/types';
import { Prng } from '../helpers/fuzz';

/**
 * `seekPath` (the scan that locates without a syntax tree) must answer as jsonc-parser's tree
 * walk does, on every path: existing or not, through escaped and duplicate keys, odd whitespace.
 */

const KEYS = ['a', 'b', 'messages', 'content', 'q"uote', 'back\\slash', 'é', '\u2028', ''];
const SPACE = ['', ' ', '\n', '\t', ' \r\n  '];

function randomJson(rng: Prng, depth: number): string {
  const ws = (): string => rng.pick(SPACE);
  const kind = depth > 4 ? rng.int(3) : rng.int(6);
  switch (kind) {
    case 0:
      return JSON.stringify(rng.pick(['plain', 'with "quotes" and \\ back', 'tab\tnew\nline', '<image> é ☃', '', '\\"']));
    case 1:
      return rng.pick(['0', '-12.5e3', 'true', 'false', 'null', '42']);
    case 2:
      return rng.pick(['{}', '[]', `{${ws()}}`, `[${ws()}]`]);
    case 3:
    case 4: {
      const n = 1 + rng.int(4);
      const props: string[] = [];
      for (let i = 0; i < n; i++) {
        const key = rng.pick(KEYS);
        // Some keys written with escapes that decode to the same name.
        const raw = rng.int(4) === 0 ? `"${[...key].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"` : JSON.stringify(key);
        props.push(`${ws()}${raw}${ws()}:${ws()}${randomJson(rng, depth + 1)}${ws()}`);
      }
      return `{${props.join(',')}}`;
    }
    default: {
      const n = rng.int(5);
      const items: string[] = [];
      for (let i = 0; i < n; i++) items.push(`${ws()}${randomJson(rng, depth + 1)}${ws()}`);
      return `[${items.join(',')}]`;
    }
  }
}

function randomPath(rng: Prng): JsonPath {
  const path: (string | number)[] = [];
  const n = rng.int(5);
  for (let i = 0; i < n; i++) path.push(rng.int(2) === 0 ? rng.pick(KEYS) : rng.int(4));
  return path;
}

/** The tree walk's answer: as deep as the path exists, first duplicate key wins. */
function treeAnswer(root: Node, path: JsonPath): { start: number; end: number; key?: [number, number] } {
  let node = root;
  for (const segment of path) {
    let next: Node | undefined;
    if (typeof segment === 'string') {
      if (node.type === 'object') next = node.children?.find((p) => p.children?.[0]?.value === segment)?.children?.[1];
    } else if (node.type === 'array') next = node.children?.[segment];
    if (!next) break;
    node = next;
  }
  const keyNode = node.parent?.type === 'property' ? node.parent.children?.[0] : undefined;
  return { start: node.offset, end: node.offset + node.length, ...(keyNode ? { key: [keyNode.offset, keyNode.offset + keyNode.length] as [number, number] } : {}) };
}

test('seekPath lands where the syntax tree walk does, on random JSON and random paths', () => {
  const rng = new Prng(7);
  let deep = 0;
  for (let doc = 0; doc < 400; doc++) {
    const text = `${rng.pick(SPACE)}${randomJson(rng, 0)}${rng.pick(SPACE)}`;
    JSON.parse(text);
    const root = parseTree(text)!;
    for (let k = 0; k < 25; k++) {
      const path = randomPath(rng);
      const want = treeAnswer(root, path);
      const got = seekPath(text, path);
      assert.ok(got, `seekPath gave up on ${JSON.stringify(text)} at ${JSON.stringify(path)}`);
      assert.deepEqual([got.start, got.end], [want.start, want.end], `${JSON.stringify(text)} at ${JSON.stringify(path)}`);
      assert.deepEqual(got.keyStart >= 0 ? [got.keyStart, got.keyEnd] : undefined, want.key, `key of ${JSON.stringify(path)} in ${JSON.stringify(text)}`);
      if (path.length > 1) deep++;
    }
  }
  assert.ok(deep > 1000, 'the random paths go below the top level');
});

test('the locator answers the same through seekPath as through the tree, spans and keys included', () => {
  const text = '{"messages": [{"role": "user", "content": "Look at \\"this\\" <image>\\n now"}, {"role": "assistant", "content": "ok"}], "images": ["a.png"]}';
  const fast = new RecordLocator(text);
  const viaTree = new RecordLocator(text);
  viaTree.node([]); // builds the tree: locate() then walks it
  const cases = [
    { path: ['messages', 0, 'content'], span: { start: 15, length: 7 } },
    { path: ['messages', 1, 'role'], onKey: true },
    { path: ['images', 3] },
    { path: ['missing', 'deeper'], onKey: true },
    { path: [] },
  ];
  for (const c of cases) assert.deepEqual(fast.locate(c), viaTree.locate(c), JSON.stringify(c));
  const span = fast.locate(cases[0]!);
  assert.equal(text.slice(span.start, span.end), '<image>');
  assert.deepEqual(findNodeAtLocation(parseTree(text)!, ['images', 0])!.offset, fast.locate({ path: ['images', 0] }).start);
});

test('records nested deeper than the locator follows are located as a whole', () => {
  const deep = `{"b": 1, "a": ${'['.repeat(1500)}${']'.repeat(1500)}}`;
  assert.deepEqual(new RecordLocator(deep).locate({ path: ['a', 0] }), { start: 0, end: deep.length });
  // A path that never passes through the deep part is located exactly.
  assert.deepEqual(new RecordLocator(deep).locate({ path: ['b'] }), { start: 6, end: 7 });
});

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { contentSecurityPolicy, galleryHtml, makeNonce, samplePreviewHtml, type WebviewPageInput } from '../../client/src/preview/html';
import { ROOT } from '../helpers/fixtures';

// The webview documents are built by pure functions; VS Code's real cspSource looks like this.
const CSP_SOURCE = 'https://*.vscode-cdn.net';

function input(nonce = makeNonce()): WebviewPageInput {
  return {
    cspSource: CSP_SOURCE,
    nonce,
    scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/media/samplePreview.js',
    styleUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/media/preview.css',
    title: 'Sample <Preview>',
  };
}

function cspOf(html: string): Map<string, string[]> {
  const m = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html);
  assert.ok(m, 'a Content-Security-Policy meta tag');
  const out = new Map<string, string[]>();
  for (const directive of m[1]!.split(';')) {
    const [name, ...values] = directive.trim().split(/\s+/);
    if (name) out.set(name, values);
  }
  return out;
}

for (const [name, build] of [
  ['sample preview', samplePreviewHtml],
  ['gallery', galleryHtml],
] as const) {
  test(`${name}: strict CSP (nothing by default, nonce scripts, images and styles only from the webview source)`, () => {
    const nonce = makeNonce();
    const csp = cspOf(build(input(nonce)));
    assert.deepEqual(csp.get('default-src'), ["'none'"]);
    assert.deepEqual(csp.get('script-src'), [`'nonce-${nonce}'`]);
    assert.deepEqual(csp.get('img-src'), [CSP_SOURCE]);
    assert.deepEqual(csp.get('style-src'), [CSP_SOURCE]);
    for (const [directive, values] of csp) {
      assert.ok(!values.some((v) => v === "'unsafe-inline'" || v === "'unsafe-eval'" || v === '*' || v === 'data:' || v === 'https:' || v === 'http:'), `${directive} ${values.join(' ')}`);
    }
  });

  test(`${name}: every script carries the nonce, and there is no inline script or handler`, () => {
    const nonce = makeNonce();
    const html = build(input(nonce));
    const scripts = html.match(/<script\b[^>]*>/g) ?? [];
    assert.ok(scripts.length >= 1);
    for (const s of scripts) {
      assert.ok(s.includes(`nonce="${nonce}"`), s);
      assert.match(s, /\bsrc="/, 'scripts are files, not inline code');
    }
    assert.doesNotMatch(html, /\son[a-z]+=/i, 'no inline event handlers');
    assert.doesNotMatch(html, /style="/, 'no inline styles (style-src has no unsafe-inline)');
  });

  test(`${name}: no remote URLs besides the webview's own resource origin`, () => {
    const html = build(input());
    const urls = html.match(/https?:\/\/[^\s"'<>;]+/g) ?? [];
    for (const u of urls) assert.ok(u.startsWith('https://*.vscode-cdn.net') || u.startsWith('https://file+.vscode-resource.vscode-cdn.net/'), `remote URL in the page: ${u}`);
  });
}

test('titles and attributes are escaped', () => {
  const html = samplePreviewHtml({ ...input(), title: '<script>alert(1)</script>', styleUri: 'x" onload="evil' });
  assert.doesNotMatch(html, /<script>alert/);
  assert.ok(html.includes('x&quot; onload=&quot;evil'));
});

test('nonces are fresh and long enough', () => {
  const a = makeNonce();
  assert.notEqual(a, makeNonce());
  assert.ok(a.length >= 16);
  assert.match(contentSecurityPolicy('vscode-resource:', a), new RegExp(`'nonce-${a}'`));
});

test('the webview scripts and styles load nothing remote and never parse HTML from data', () => {
  for (const name of ['samplePreview.js', 'gallery.js', 'preview.css']) {
    const text = fs.readFileSync(path.join(ROOT, 'media', name), 'utf8');
    assert.doesNotMatch(text, /https?:\/\//, `${name} references a remote URL`);
    assert.doesNotMatch(text, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/, `${name} builds HTML from strings`);
    assert.doesNotMatch(text, /@import|url\(/, `${name} loads other resources`);
  }
});

import { randomBytes } from 'node:crypto';

/**
 * The webview documents of the sample preview and the gallery, as pure functions (no 'vscode'
 * import, so tests check them directly). The documents are empty shells: the scripts in media/
 * build the content from messages with DOM APIs (textContent), never from HTML strings.
 *
 * Content Security Policy: nothing by default; scripts only with this document's nonce; styles
 * and images only from the extension's webview resource origin (`cspSource`). No remote content.
 */

export interface WebviewPageInput {
  /** `webview.cspSource`. */
  cspSource: string;
  nonce: string;
  /** Webview URIs of the page's script and stylesheet (from `webview.asWebviewUri`). */
  scriptUri: string;
  styleUri: string;
  title: string;
}

/** A fresh nonce per document (base64url of 16 random bytes). */
export function makeNonce(): string {
  return randomBytes(16).toString('base64url');
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [`default-src 'none'`, `img-src ${cspSource}`, `media-src ${cspSource}`, `style-src ${cspSource}`, `script-src 'nonce-${nonce}'`, `font-src ${cspSource}`].join('; ');
}

const escapeAttr = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escapeText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function page(input: WebviewPageInput, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttr(contentSecurityPolicy(input.cspSource, input.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeAttr(input.styleUri)}">
<title>${escapeText(input.title)}</title>
</head>
<body>
${body}
<script nonce="${escapeAttr(input.nonce)}" src="${escapeAttr(input.scriptUri)}"></script>
</body>
</html>
`;
}

/** The sample preview: a toolbar (previous / record n of N / next) and the chat. */
export function samplePreviewHtml(input: WebviewPageInput): string {
  return page(
    input,
    `<header class="toolbar">
  <button id="prev" type="button" title="Previous record (Alt+Up)">◀ Previous</button>
  <span id="where" class="where">No record yet</span>
  <button id="next" type="button" title="Next record (Alt+Down)">Next ▶</button>
  <label class="follow"><input id="follow" type="checkbox" checked> Follow the cursor</label>
</header>
<section id="problems" class="problems" hidden></section>
<main id="chat" class="chat" aria-live="polite"></main>`,
  );
}

/** The gallery: filter, pager and a grid of tiles. */
export function galleryHtml(input: WebviewPageInput): string {
  return page(
    input,
    `<header class="toolbar">
  <label><input id="problemsOnly" type="checkbox"> Only records with media problems</label>
  <span id="summary" class="where"></span>
  <button id="prev" type="button">◀ Previous page</button>
  <span id="page" class="where"></span>
  <button id="next" type="button">Next page ▶</button>
</header>
<main id="grid" class="grid"></main>`,
  );
}

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DatasetReport } from '../core/report/report';

/**
 * The report page: one HTML shell for the `--html` file and the VS Code webview. The view script
 * (client/src/report/view, with chart.js bundled in; built to server/out/reportView.js) draws
 * everything from the JSON in `#tunekit-report-data`. A strict CSP allows only this page's
 * nonce-tagged script and style: no remote content, nothing inline without the nonce.
 */

export const VIEW_SCRIPT = 'reportView.js';

/** The view bundle's text (for self-contained pages). */
export function readViewScript(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    for (const candidate of [path.join(dir, VIEW_SCRIPT), path.join(dir, 'server', 'out', VIEW_SCRIPT)]) {
      if (fs.existsSync(candidate)) return fs.readFileSync(candidate, 'utf8');
    }
    if (dir === path.dirname(dir)) throw new Error(`${VIEW_SCRIPT} not found: run npm run build`);
  }
}

export interface PageOptions {
  title: string;
  nonce?: string;
  /** The view script: inline text (default: the bundle) or a URI (webview). */
  scriptUri?: string;
  /** Extra CSP sources for the webview (`webview.cspSource`). */
  cspSource?: string;
}

/** JSON safe inside a <script> element: no `</script`, no `<!--`. */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** Script text safe inside <script>: no closing tag, no HTML comment opener (they end or confuse the element). */
function inlineSafe(js: string): string {
  return js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function reportPageHtml(report: DatasetReport | undefined, opts: PageOptions): string {
  const nonce = opts.nonce ?? crypto.randomBytes(16).toString('base64');
  // Fonts come from the editor in the webview; nothing else is ever loaded.
  const csp = `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'${opts.cspSource ? `; font-src ${opts.cspSource}` : ''}`;
  const script = opts.scriptUri
    ? `<script nonce="${nonce}" src="${escapeHtml(opts.scriptUri)}"></script>`
    : `<script nonce="${nonce}">${inlineSafe(readViewScript())}</script>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(opts.title)}</title>
<style nonce="${nonce}">${PAGE_CSS}</style>
</head>
<body>
<main id="tunekit-report"><p class="muted">Loading the report…</p></main>
<script type="application/json" id="tunekit-report-data">${report ? scriptSafeJson(report) : 'null'}</script>
${script}
</body>
</html>
`;
}

/** Colours follow VS Code's theme in the webview and fall back to a light page elsewhere. */
const PAGE_CSS = `
:root { color-scheme: light dark; --fg: var(--vscode-foreground, #1f2328); --bg: var(--vscode-editor-background, #ffffff); --muted: var(--vscode-descriptionForeground, #656d76); --card: var(--vscode-sideBar-background, #f6f8fa); --border: var(--vscode-panel-border, #d0d7de); --err: var(--vscode-errorForeground, #cf222e); --warn: var(--vscode-editorWarning-foreground, #9a6700); --info: var(--vscode-editorInfo-foreground, #0969da); --link: var(--vscode-textLink-foreground, #0969da); }
body { margin: 0; padding: 16px 24px 48px; background: var(--bg); color: var(--fg); font-family: var(--vscode-font-family, system-ui, -apple-system, "Segoe UI", sans-serif); font-size: 13px; line-height: 1.45; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 15px; margin: 28px 0 10px; }
.muted { color: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; margin: 16px 0; }
.card { background: var(--card); border: 1px solid var(--border); border-radius: 6px; padding: 10px 12px; }
.card .value { font-size: 24px; font-weight: 600; } .card .label { color: var(--muted); }
.card.bad .value { color: var(--err); } .card.warn .value { color: var(--warn); }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 16px; }
.chart { background: var(--card); border: 1px solid var(--border); border-radius: 6px; padding: 10px 12px; }
.chart h3 { margin: 0 0 6px; font-size: 13px; } .chart .box { position: relative; height: 240px; }
.chart p { margin: 6px 0 0; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--border); } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.sev-error { color: var(--err); } .sev-warning { color: var(--warn); } .sev-info, .sev-hint { color: var(--info); }
button.code { background: none; border: none; padding: 0; color: var(--link); cursor: pointer; font: inherit; text-decoration: underline; }
.plan li { margin: 0 0 10px; list-style: none; } .plan ul { padding: 0; }
.plan .title { font-weight: 600; } .plan .basis { color: var(--muted); font-size: 12px; }
.badge { display: inline-block; border-radius: 8px; padding: 0 6px; font-size: 11px; border: 1px solid currentColor; margin-right: 6px; }
`;

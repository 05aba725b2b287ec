import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  DoughnutController,
  Legend,
  LinearScale,
  Tooltip,
  type ChartConfiguration,
} from 'chart.js';
import type { DatasetReport, Histogram, Stats } from '../../../../server/src/core/report/report';

/**
 * The report view: runs in the `--html` page and in the VS Code webview (no 'vscode' import; it
 * is bundled for the browser with chart.js). It draws the report from `#tunekit-report-data`, and
 * in the webview again for every `{type: 'report'}` message as the file is edited.
 */

Chart.register(ArcElement, BarController, BarElement, CategoryScale, DoughnutController, Legend, LinearScale, Tooltip);

interface VsCodeApi {
  postMessage(message: unknown): void;
}
declare const acquireVsCodeApi: (() => VsCodeApi) | undefined;
const vscode: VsCodeApi | undefined = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : undefined;

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const SEVERITY_COLOURS: Record<string, string> = { error: '#e5534b', warning: '#d4a72c', info: '#4e79a7', hint: '#8c959f' };
const OVER_LIMIT = '#e5534b';
const TAIL = '#bab0ac';

let charts: Chart[] = [];

const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: { class?: string; text?: string; title?: string } = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (attrs.class) e.className = attrs.class;
  if (attrs.text !== undefined) e.textContent = attrs.text;
  if (attrs.title) e.title = attrs.title;
  for (const c of children) e.append(c);
  return e;
}

function card(value: string, label: string, tone?: 'bad' | 'warn', title?: string): HTMLElement {
  return el('div', { class: `card${tone ? ' ' + tone : ''}`, ...(title ? { title } : {}) }, el('div', { class: 'value', text: value }), el('div', { class: 'label', text: label }));
}

/** A chart panel; the chart is created after the panel is in the document (chart.js measures it). */
function chartPanel(title: string, config: ChartConfiguration, note?: string): HTMLElement {
  const canvas = el('canvas');
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', title);
  const panel = el('section', { class: 'chart' }, el('h3', { text: title }), el('div', { class: 'box' }, canvas));
  if (note) panel.append(el('p', { class: 'muted', text: note }));
  pending.push(() => charts.push(new Chart(canvas, config)));
  return panel;
}

let pending: (() => void)[] = [];

function bar(labels: string[], data: number[], colours: string | string[], opts: { horizontal?: boolean; label?: string; onClick?: (i: number) => void } = {}): ChartConfiguration {
  return {
    type: 'bar',
    data: { labels, datasets: [{ label: opts.label ?? 'records', data, backgroundColor: colours }] },
    options: {
      animation: false,
      maintainAspectRatio: false,
      indexAxis: opts.horizontal ? 'y' : 'x',
      plugins: { legend: { display: false } },
      scales: { x: { beginAtZero: true, ticks: { autoSkip: !opts.horizontal } }, y: { beginAtZero: true } },
      ...(opts.onClick
        ? {
            onClick: (_e, elements) => {
              const first = elements[0];
              if (first) opts.onClick!(first.index);
            },
            onHover: (e, elements) => {
              const target = e.native?.target as HTMLElement | undefined;
              if (target) target.style.cursor = elements.length ? 'pointer' : 'default';
            },
          }
        : {}),
    },
  };
}

function doughnut(labels: string[], data: number[]): ChartConfiguration {
  return {
    type: 'doughnut',
    data: { labels, datasets: [{ data, backgroundColor: PALETTE.slice(0, data.length) }] },
    options: { animation: false, maintainAspectRatio: false, plugins: { legend: { position: 'right' } } },
  };
}

function histogramBar(h: Histogram, colour: string | string[]): ChartConfiguration {
  return bar(h.labels, h.counts, colour);
}

/** Trims empty bins off the end of a count histogram (turns 0…20+ rarely use them all). */
function trimmed(h: Histogram): Histogram {
  let end = h.counts.length;
  while (end > 1 && h.counts[end - 1] === 0) end--;
  let start = 0;
  while (start < end - 1 && h.counts[start] === 0) start++;
  return { labels: h.labels.slice(start, end), counts: h.counts.slice(start, end) };
}

function showProblems(code: string): void {
  vscode?.postMessage({ type: 'showProblems', code });
}

function statText(s: Stats, unit: string): string {
  return s.records === 0 ? '—' : `mean ${fmt(s.mean)} ${unit}, p95 ${fmt(s.p95)}, max ${fmt(s.max)}`;
}

export function render(root: HTMLElement, r: DatasetReport): void {
  for (const c of charts) c.destroy();
  charts = [];
  pending = [];
  const style = getComputedStyle(document.body);
  Chart.defaults.color = style.color;
  Chart.defaults.borderColor = style.getPropertyValue('--border').trim() || 'rgba(127,127,127,0.3)';
  Chart.defaults.font.family = style.fontFamily;

  const parts: HTMLElement[] = [];
  parts.push(el('h1', { text: 'Dataset report' }));
  parts.push(el('p', { class: 'muted', text: r.files.map((f) => `${f.path}: ${fmt(f.records)} records${f.format ? ` (${f.format})` : ''}`).join(' · ') }));

  const tokenUnit = r.tokens.exact ? `tokens (${r.tokens.tokenizer})` : 'tokens (estimated)';
  parts.push(
    el(
      'div',
      { class: 'cards' },
      card(fmt(r.samples), 'records'),
      card(fmt(r.trainable), 'trainable (no errors)', r.trainable < r.samples ? 'warn' : undefined),
      card(fmt(r.severities.error), 'errors', r.severities.error > 0 ? 'bad' : undefined),
      card(fmt(r.severities.warning), 'warnings', r.severities.warning > 0 ? 'warn' : undefined),
      card(fmt(r.duplicates), 'exact duplicates', r.duplicates > 0 ? 'warn' : undefined),
      card(fmt(r.nearDuplicates.count), `near-duplicates (≥ ${r.nearDuplicates.threshold})`, r.nearDuplicates.count > 0 ? 'warn' : undefined),
      card(fmt(r.tokens.perRecord.mean), `mean ${tokenUnit} per record`),
      card(fmt(r.tokens.overMax), `over ${fmt(r.tokens.maxTokens)} tokens`, r.tokens.overMax > 0 ? 'warn' : undefined),
    ),
  );

  // Plan first: it is what the numbers are for.
  parts.push(el('h2', { text: `Training plan (${fmt(r.plan.records)} trainable records)` }));
  const plan = el('ul');
  for (const item of r.plan.items) {
    plan.append(
      el(
        'li',
        {},
        el('span', { class: `badge sev-${item.level}`, text: item.level }),
        el('span', { class: 'title', text: item.title }),
        el('div', { text: item.advice }),
        el('div', { class: 'basis', text: `from: ${item.basis}` }),
      ),
    );
  }
  parts.push(el('div', { class: 'plan' }, plan));

  parts.push(el('h2', { text: 'Shape of the data' }));
  const grid = el('div', { class: 'charts' });
  const m = r.modality;
  grid.append(chartPanel('Records per modality', doughnut(['text only', 'one image', 'several images', 'video', 'audio'], [m.textOnly, m.image, m.multiImage, m.video, m.audio])));
  const over = r.tokens.histogram.labels.map((_, i) => {
    const lower = i === 0 ? 0 : Number(r.tokens.histogram.labels[i]!.split('–')[0]!.replace(/[^\d]/g, ''));
    return lower > r.tokens.maxTokens ? OVER_LIMIT : PALETTE[0]!;
  });
  grid.append(chartPanel(`Tokens per record (${r.tokens.exact ? r.tokens.tokenizer : 'estimated'})`, histogramBar(r.tokens.histogram, over), r.tokens.note));
  const roles = (['system', 'user', 'assistant', 'tool'] as const).filter((k) => r.lengths.roles[k].records > 0);
  grid.append(
    chartPanel(
      'Length per role (mean tokens)',
      {
        type: 'bar',
        data: {
          labels: roles,
          datasets: [
            { label: 'mean', data: roles.map((k) => r.tokens.roles[k].mean), backgroundColor: PALETTE[0] },
            { label: 'p95', data: roles.map((k) => r.tokens.roles[k].p95), backgroundColor: PALETTE[1] },
          ],
        },
        options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true } } },
      },
      roles.map((k) => `${k}: ${statText(r.lengths.roles[k], 'chars')}`).join('; '),
    ),
  );
  grid.append(chartPanel('Turns per record', histogramBar(trimmed(r.turns.histogram), PALETTE[2]!), `min ${r.turns.min}, max ${r.turns.max}, mean ${r.turns.mean}`));
  if (r.media.images + r.media.videos + r.media.audios > 0) {
    grid.append(chartPanel('Media per record', histogramBar(trimmed(r.media.histogram), PALETTE[4]!), `${fmt(r.media.images)} images, ${fmt(r.media.videos)} videos, ${fmt(r.media.audios)} audios`));
  }
  const formats = Object.entries(r.formats);
  if (formats.length > 1) grid.append(chartPanel('Formats', doughnut(formats.map(([k]) => k), formats.map(([, v]) => v))));
  if (r.files.length > 1) grid.append(chartPanel('Records per file', bar(r.files.map((f) => f.path), r.files.map((f) => f.records), PALETTE[5]!, { horizontal: true })));
  if (r.composition.generation > 0) {
    grid.append(chartPanel('Understanding vs generation', doughnut(['understanding', 'generation'], [r.composition.understanding, r.composition.generation]), r.composition.rule));
  }
  parts.push(grid);

  if (r.labelStats) {
    const l = r.labelStats;
    parts.push(el('h2', { text: 'Labels' }));
    const lgrid = el('div', { class: 'charts' });
    if (r.labels) {
      const entries = Object.entries(r.labels).slice(0, 40);
      lgrid.append(
        chartPanel(
          `Label distribution (${fmt(l.classes)} classes${entries.length < l.classes ? `, top ${entries.length}` : ''})`,
          bar(entries.map(([k]) => k), entries.map(([, v]) => v), entries.map(([, v]) => (v < l.longTail.min ? TAIL : PALETTE[0]!)), { horizontal: entries.length > 8 }),
          `imbalance ratio ${l.imbalanceRatio}; ${l.longTail.classes.length} classes under ${l.longTail.min} records (grey)`,
        ),
      );
    }
    const shapes = Object.entries(l.shapes);
    lgrid.append(chartPanel('Answer formats', doughnut(shapes.map(([k]) => k), shapes.map(([, v]) => v)), l.consistent ? 'Every answer has the same format.' : `Most answers are ${l.majorityShapeName ?? l.majorityShape}; the others get inconsistent-answer-format.`));
    parts.push(lgrid);
  }

  parts.push(el('h2', { text: 'Problems by code' }));
  if (r.issueList.length === 0) parts.push(el('p', { class: 'muted', text: 'No problems found.' }));
  else {
    const top = r.issueList.slice(0, 30);
    const igrid = el('div', { class: 'charts' });
    igrid.append(
      chartPanel(
        'Problems by code',
        bar(top.map((i) => i.code), top.map((i) => i.count), top.map((i) => SEVERITY_COLOURS[i.severity] ?? PALETTE[0]!), { horizontal: true, label: 'findings', onClick: (i) => showProblems(top[i]!.code) }),
        vscode ? 'Click a bar to open the Problems list.' : undefined,
      ),
    );
    parts.push(igrid);
    const table = el('table', {}, el('tr', {}, el('th', { text: 'code' }), el('th', { text: 'severity' }), el('th', { text: 'count' }), el('th', { text: 'first at' })));
    for (const i of r.issueList) {
      const code = vscode ? el('button', { class: 'code', text: i.code, title: 'Open the Problems list' }) : el('span', { text: i.code });
      if (vscode) code.addEventListener('click', () => showProblems(i.code));
      table.append(el('tr', {}, el('td', {}, code), el('td', { class: `sev-${i.severity}`, text: i.severity }), el('td', { class: 'num', text: fmt(i.count) }), el('td', { text: `${i.file}:${i.line}` })));
    }
    parts.push(table);
  }
  if (r.nearDuplicates.examples.length > 0 || r.tokens.overMaxExamples.length > 0) {
    parts.push(el('h2', { text: 'Examples' }));
    const ul = el('ul');
    for (const d of r.nearDuplicates.examples.slice(0, 10)) ul.append(el('li', { text: `${d.file}:${d.line} is ${Math.round(d.similarity * 100)}% similar to ${d.similarTo.file}:${d.similarTo.line}` }));
    for (const o of r.tokens.overMaxExamples.slice(0, 10)) ul.append(el('li', { text: `${o.file}:${o.line} has ${fmt(o.tokens)} tokens (over ${fmt(r.tokens.maxTokens)})` }));
    parts.push(ul);
  }

  root.replaceChildren(...parts);
  for (const p of pending) p();
  pending = [];
  document.body.dataset['rendered'] = String(charts.length);
}

function start(): void {
  const root = document.getElementById('tunekit-report');
  if (!root) return;
  const data = document.getElementById('tunekit-report-data')?.textContent;
  const initial = data ? (JSON.parse(data) as DatasetReport | null) : null;
  if (initial) render(root, initial);
  window.addEventListener('message', (event: MessageEvent<{ type?: string; report?: DatasetReport; message?: string }>) => {
    const msg = event.data;
    if (msg?.type === 'report' && msg.report) render(root, msg.report);
    else if (msg?.type === 'error' && msg.message) root.replaceChildren(el('p', { class: 'sev-error', text: msg.message }));
  });
  vscode?.postMessage({ type: 'ready' });
}

start();

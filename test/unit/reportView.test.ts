import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { main } from '../../server/src/cli';
import { FIXTURES } from '../helpers/fixtures';

// The --html page in a real browser: chart.js draws under the page's strict CSP, with no request
// leaving the file and no error.

const CHROMIUM = process.env['TUNEKIT_E2E_CHROMIUM'] ?? '/usr/bin/chromium';

test('the --html report renders its charts in Chromium under the strict CSP, offline', async (t) => {
  if (!fs.existsSync(CHROMIUM)) {
    if (process.env['CI'] === 'true') assert.fail(`Chromium not found at ${CHROMIUM}`);
    t.skip(`Chromium not found at ${CHROMIUM} (apt-get install -y chromium)`);
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tunekit-html-'));
  const html = path.join(dir, 'report.html');
  const sink = { write: () => true } as unknown as NodeJS.WritableStream;
  // Two files: labels (classification) and the mixed multimodal fixture, so every chart kind shows.
  const code = await main(['report', '--html', html, path.join(FIXTURES, 'report', 'labels.jsonl'), path.join(FIXTURES, 'report', 'mixed.jsonl')], sink, sink);
  assert.equal(code, 0);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(String(e)));
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(html).href);
    await page.waitForFunction('Number(document.body.dataset.rendered) > 0', undefined, { timeout: 30_000 });
    const charts = Number(await page.evaluate('document.body.dataset.rendered'));
    assert.ok(charts >= 8, `${charts} charts drawn`);
    const canvases = Number(await page.evaluate('document.querySelectorAll("canvas").length'));
    assert.equal(canvases, charts);
    // Charts are drawn, not blank: some canvas pixels are not transparent.
    const inked = await page.evaluate(`[...document.querySelectorAll('canvas')].filter((c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return true;
      return false;
    }).length`);
    assert.equal(inked, canvases, 'every chart has ink');
    const text = String(await page.evaluate('document.body.innerText'));
    assert.match(text, /Training plan/);
    assert.match(text, /from: /);
    assert.match(text, /Label distribution/);
    assert.deepEqual(problems, [], 'no errors and no CSP violations');
    assert.deepEqual(requests.filter((u) => !u.startsWith('file:')), [], 'nothing is fetched');
  } finally {
    await browser.close();
  }
});

import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type Frame, type Locator, type Page } from 'playwright-core';
import { waitFor } from './processes';

export const CHROMIUM = process.env.TUNEKIT_E2E_CHROMIUM ?? '/usr/bin/chromium';

/** Where screenshots go (gitignored); the issue asks for hover, preview and report shots. */
export const RESULTS_DIR = path.resolve(process.env.TUNEKIT_E2E_RESULTS ?? 'test-results');

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

/** Polls a page-side condition; never a fixed sleep. */
export async function until<T>(what: string, check: () => Promise<T | false>, timeoutMs = 60_000): Promise<T> {
  return waitFor(what, timeoutMs, check, 250);
}

export interface ProblemRow {
  /** `folder/name` of the file the problem is in (the panel groups markers by file). */
  file: string;
  source: string;
  code: string;
  /** 1-based, as the panel shows it. */
  line: number;
  column: number;
  severity: string;
  label: string;
}

/** A VS Code workbench in a browser tab: the few gestures the scenarios need, done the way a user does them. */
export class Workbench {
  constructor(readonly page: Page) {}

  static async open(browser: Browser, url: string, folder: string): Promise<Workbench> {
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
    const page = await context.newPage();
    await page.goto(`${url}?folder=${encodeURIComponent(folder)}`);
    const wb = new Workbench(page);
    await page.locator('.monaco-workbench').waitFor({ timeout: 120_000 });
    // The explorer lists the folder once the remote file system answers.
    await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 120_000 });
    return wb;
  }

  async screenshot(name: string, target?: Locator): Promise<string> {
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    const file = path.join(RESULTS_DIR, name);
    if (target) await target.screenshot({ path: file });
    else await this.page.screenshot({ path: file });
    return file;
  }

  /** Runs a command by its palette title (F1, type, Enter), as a user would. */
  async runCommand(title: string): Promise<void> {
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    await this.page.keyboard.press('F1');
    await input.waitFor();
    await input.fill(`>${title}`);
    // Pick the exact entry, not whatever fuzzy match comes first.
    const row = this.page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: title }).first();
    await row.waitFor();
    await row.click();
  }

  /** Opens a workspace file through Quick Open and waits for its editor tab to be active. */
  async openFile(relativePath: string): Promise<void> {
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    await this.page.keyboard.press('Control+P');
    await input.waitFor();
    await input.fill(relativePath);
    const base = path.basename(relativePath);
    const dir = path.dirname(relativePath);
    const row = this.page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: base }).filter({ hasText: dir === '.' ? base : dir }).first();
    await row.waitFor();
    await row.click();
    const group = this.page.locator('.editor-group-container.active');
    await group.locator(`.tab.active[data-resource-name="${base}"]`).first().waitFor();
    if (dir !== '.') await group.locator('.monaco-breadcrumbs', { hasText: path.basename(dir) }).first().waitFor();
    await this.page.locator('.editor-instance .monaco-editor .view-lines').first().waitFor();
  }

  /**
   * Opens the Problems panel and returns its marker rows once `ready` accepts them. Each row's
   * text reads `message tunekit(code) [Ln 3, Col 84]`; its accessible label starts with the severity.
   */
  async problems(ready: (rows: ProblemRow[]) => boolean, what: string, timeoutMs = 90_000): Promise<ProblemRow[]> {
    const panel = this.page.locator('.markers-panel');
    if (!(await panel.isVisible())) await this.runCommand('View: Focus Problems (Errors, Warnings, Infos)');
    await panel.waitFor();
    let seen: { label: string; text: string }[] = [];
    const read = async (): Promise<ProblemRow[] | false> => {
      seen = await panel.locator('.monaco-list-row').evaluateAll((els) => els.map((e) => ({ label: e.getAttribute('aria-label') ?? '', text: e.textContent ?? '' })));
      const rows = parseProblemRows(seen);
      return ready(rows) ? rows : false;
    };
    try {
      return await until(what, read, timeoutMs);
    } catch (err) {
      await this.screenshot(`failed-${what.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}.png`).catch(() => undefined);
      throw new Error(`${String(err)}\nThe Problems panel showed: ${JSON.stringify(seen, null, 1)}`);
    }
  }

  /** Types `text` at the end of the active editor (auto-closing is off in the test profile). */
  async typeAtEnd(text: string): Promise<void> {
    await this.page.locator('.editor-instance .monaco-editor .view-lines').first().click();
    await this.page.keyboard.press('Control+End');
    await this.page.keyboard.insertText(text);
  }

  /** The rendered editor line (1-based) whose text contains `needle`. */
  editorLine(needle: string): Locator {
    return this.page.locator('.editor-instance .monaco-editor .view-lines .view-line', { hasText: needle }).first();
  }

  /** Moves the mouse over the first occurrence of `needle` in the visible editor text. */
  async hoverText(needle: string): Promise<void> {
    const line = this.editorLine(needle);
    await line.waitFor();
    const box = await line.evaluate((el, text) => {
      // Find the text node and measure the exact characters, not the whole line.
      const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const i = (n.textContent ?? '').indexOf(text);
        if (i >= 0) {
          const range = document.createRange();
          range.setStart(n, i);
          range.setEnd(n, i + text.length);
          const r = range.getBoundingClientRect();
          return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
        }
      }
      // The text spans several token spans: fall back to the line's own text offsets.
      const full = el.textContent ?? '';
      const i = full.indexOf(text);
      const r = el.getBoundingClientRect();
      return { x: r.x + ((i + text.length / 2) / Math.max(1, full.length)) * r.width, y: r.y + r.height / 2 };
    }, needle.replace(/\s/g, '\u00a0'));
    await this.page.mouse.move(box.x, box.y);
  }

  /**
   * Hovers `needle` until `shown` appears. The gesture is repeated (mouse away, then back), as a
   * user would, because a hover asked for before the server knows the document answers nothing.
   */
  async hoverUntil(needle: string, shown: Locator, what: string, timeoutMs = 90_000): Promise<void> {
    try {
      await until(
        what,
        async () => {
          await this.page.mouse.move(1, 1);
          await this.hoverText(needle);
          return shown
            .waitFor({ timeout: 5_000 })
            .then(() => true)
            .catch(() => false);
        },
        timeoutMs,
      );
    } catch (err) {
      await this.screenshot(`failed-${what.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}.png`).catch(() => undefined);
      throw err;
    }
  }

  /** Places the cursor on the first occurrence of `needle` by clicking it. */
  async clickText(needle: string): Promise<void> {
    await this.hoverText(needle);
    await this.page.mouse.down();
    await this.page.mouse.up();
  }

  /** The frame of the webview (preview, gallery, report) whose document has `selector`. */
  async webview(selector: string, what: string, timeoutMs = 60_000): Promise<Frame> {
    return until(
      what,
      async () => {
        for (const frame of this.page.frames()) {
          if (frame === this.page.mainFrame()) continue;
          if ((await frame.locator(selector).count().catch(() => 0)) > 0) return frame;
        }
        return false;
      },
      timeoutMs,
    );
  }

  /** Waits until `count` images inside `scope` have loaded with real pixels (decoded, non-zero size). */
  async imagesRendered(scope: Locator | Frame, what: string, count = 1, timeoutMs = 60_000): Promise<number> {
    const imgs = scope.locator('img');
    let seen: unknown = [];
    try {
      return await until(
        what,
        async () => {
          const states = await imgs.evaluateAll((els) =>
            els.map((e) => {
              const img = e as HTMLImageElement;
              return { src: img.currentSrc.slice(0, 120), complete: img.complete, width: img.naturalWidth, loading: img.loading };
            }),
          );
          seen = states;
          const ok = states.filter((x) => x.complete && x.width > 0).length;
          return ok >= count ? ok : false;
        },
        timeoutMs,
      );
    } catch (err) {
      await this.screenshot(`failed-${what.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}.png`).catch(() => undefined);
      throw new Error(`${String(err)}\nImages: ${JSON.stringify(seen)}`);
    }
  }

  /** Opens the quick-fix menu at the cursor and picks the action titled `title`. */
  async applyQuickFix(title: string): Promise<void> {
    await this.page.keyboard.press('Control+.');
    const rows = this.page.locator('.action-widget .monaco-list-row.action');
    await rows.filter({ hasText: title }).first().waitFor({ timeout: 30_000 });
    // The widget blocks the mouse until it moves over it; pick with the keyboard, as users do.
    const count = await rows.count();
    for (let i = 0; i <= count; i++) {
      const focused = await this.page.locator('.action-widget .monaco-list-row.action.focused').getAttribute('aria-label');
      if (focused === title) {
        await this.page.keyboard.press('Enter');
        return;
      }
      await this.page.keyboard.press('ArrowDown');
    }
    throw new Error(`the quick-fix menu has no focusable "${title}"`);
  }

  /** Presses a button of the modal dialog (e.g. "Launch" in a confirmation). */
  async pressDialogButton(label: string, timeoutMs = 120_000): Promise<void> {
    const button = this.page.locator('.monaco-dialog-box .dialog-buttons .monaco-button', { hasText: label }).first();
    await button.waitFor({ timeout: timeoutMs });
    await button.click();
  }

  async closeAllEditors(): Promise<void> {
    await this.runCommand('View: Close All Editors');
  }
}

/** Marker rows of the Problems panel, with the file each belongs to (rows follow their file's row). */
export function parseProblemRows(raw: { label: string; text: string }[]): ProblemRow[] {
  const rows: ProblemRow[] = [];
  let file = '';
  for (const r of raw) {
    // "7 problems in file broken.jsonl of folder openai"
    const header = /problems? in file (.+?) of folder (.+)$/.exec(r.label);
    if (header) file = `${header[2]}/${header[1]}`;
    // The label says severity, position and source; the code is only in the row's text, where CSS
    // adds the parentheses: "...message.tunekitunknown-role[Ln 3, Col 84]".
    const label = /^(Error|Warning|Info): .* at line (\d+) and character (\d+)\. generated by (\S+)$/s.exec(r.label);
    if (!label) continue;
    const source = label[4]!;
    const tail = /([^\s[\]]+)\[Ln \d+, Col \d+\]$/.exec(r.text)?.[1] ?? '';
    const at = tail.lastIndexOf(source);
    const code = at >= 0 ? tail.slice(at + source.length) : tail;
    rows.push({ file, source, code, line: Number(label[2]), column: Number(label[3]), severity: label[1]!.toLowerCase(), label: r.label });
  }
  return rows;
}

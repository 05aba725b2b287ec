import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseSettings, type Settings } from '../../server/src/core/settings';
import { DatasetValidator, fileKindOf, type Finding } from '../../server/src/core/validator';
import { validateFile } from '../../server/src/node/validateFile';
import { datasetInfoFor } from '../../server/src/node/files';
import type { RuleServices } from '../../server/src/core/rules';
import { defaultServices } from '../../server/src/node/services';

/** The repository root (tests run from out/test/**, sources live beside). */
export const ROOT = findRoot(__dirname);
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
/** ../shared/corpus/real next to the checkout (read in place, never copied). */
export const CORPUS = path.resolve(ROOT, '..', 'shared', 'corpus', 'real');

function findRoot(dir: string): string {
  for (let d = dir; d !== path.dirname(d); d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'package.json')) && fs.existsSync(path.join(d, 'server'))) return d;
  }
  throw new Error('repository root not found');
}

/** One diagnostic as fixtures write it: `line:col-endLine:endCol severity code` (1-based, UTF-16 columns). */
export function formatFinding(f: Finding): string {
  const r = f.range;
  return `${r.start.line + 1}:${r.start.character + 1}-${r.end.line + 1}:${r.end.character + 1} ${f.severity} ${f.code}`;
}

export function settingsFor(fixture: string, extra: Record<string, unknown> = {}): Settings {
  const file = fixture.replace(/\.(jsonl|json|ndjson)$/, '.settings.json');
  const raw = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  const { settings, problems } = parseSettings({ ...raw, ...extra });
  assert.deepEqual(problems, [], `bad settings in ${file}`);
  return settings;
}

/**
 * Validates a fixture both ways the product does (streaming from disk like the CLI, and from an
 * in-memory document like the language server), checks the two agree, and returns the findings.
 */
export async function validateBothWays(file: string, settings: Settings, services: RuleServices = {}): Promise<Finding[]> {
  const streamed = await validateFile(file, { settings, services });
  const text = fs.readFileSync(file, 'utf8');
  const info = datasetInfoFor(file);
  const formatContext = { fileDir: path.dirname(path.resolve(file)), ...(info ? { datasetInfo: info } : {}) };
  const inMemory = new DatasetValidator({ settings, services, formatContext }).validateText(
    text.charCodeAt(0) === 0xfeff ? text.slice(1) : text,
    fileKindOf(file, text),
  );
  assert.deepEqual(
    inMemory.findings.map(formatFinding),
    streamed.findings.map(formatFinding),
    `${path.basename(file)}: the in-memory and streaming paths disagree`,
  );
  return streamed.findings;
}

/**
 * Compares a fixture's findings with `<case>.expected` (one `formatFinding` line each; `#`
 * comments allowed). `UPDATE_FIXTURES=1` rewrites the expected file: review the diff.
 */
export async function checkFixture(name: string, services: RuleServices = defaultServices()): Promise<Finding[]> {
  const file = path.join(FIXTURES, name);
  const findings = await validateBothWays(file, settingsFor(file), services);
  const actual = findings.map(formatFinding);
  const expectedFile = file.replace(/\.(jsonl|json|ndjson)$/, '.expected');
  if (process.env['UPDATE_FIXTURES'] === '1') {
    const head = fs.existsSync(expectedFile)
      ? fs.readFileSync(expectedFile, 'utf8').split('\n').filter((l) => l.startsWith('#'))
      : [];
    fs.writeFileSync(expectedFile, [...head, ...actual].join('\n') + '\n');
  }
  const expected = fs
    .readFileSync(expectedFile, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  assert.deepEqual(actual, expected, `${name}: diagnostics differ from ${path.basename(expectedFile)}`);
  return findings;
}

/** Fixture files of the folder, for data-driven test lists. */
export function fixtureFiles(): string[] {
  return fs
    .readdirSync(FIXTURES)
    .filter((f) => /\.(jsonl|json|ndjson)$/.test(f) && !f.endsWith('.settings.json'))
    .sort();
}

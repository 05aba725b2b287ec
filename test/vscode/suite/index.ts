import * as fs from 'node:fs';
import * as path from 'node:path';

/** One test of the VS Code suite; files named `*.vstest.js` beside this one export `tests`. */
export interface VsTest {
  name: string;
  run(): Promise<void>;
}

/**
 * The entry @vscode/test-electron calls inside the extension host. A few sequential async tests
 * need no test framework: each file exports its tests, failures are collected and reported, and
 * the returned promise rejects if any failed (VS Code then exits non-zero).
 */
export async function run(): Promise<void> {
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.vstest.js'))
    .sort();
  const failures: string[] = [];
  let passed = 0;
  for (const file of files) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- test files are found at run time.
    const mod = require(path.join(__dirname, file)) as { tests?: VsTest[] };
    for (const t of mod.tests ?? []) {
      try {
        await t.run();
        passed++;
        process.stdout.write(`  ✔ ${file}: ${t.name}\n`);
      } catch (err) {
        failures.push(`${file}: ${t.name}\n${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        process.stdout.write(`  ✖ ${file}: ${t.name}\n`);
      }
    }
  }
  process.stdout.write(`${passed} passed, ${failures.length} failed\n`);
  if (failures.length) throw new Error(`${failures.length} VS Code test(s) failed:\n\n${failures.join('\n\n')}`);
  if (passed === 0) throw new Error('no VS Code tests found');
}

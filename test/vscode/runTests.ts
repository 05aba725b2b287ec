import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';

/**
 * `npm run test:vscode`: downloads VS Code (stable, or VSCODE_VERSION), opens `samples/` with
 * this extension under development and runs suite/index.js inside it. Needs network access for
 * the download, so it is not part of `npm test`.
 */
async function main(): Promise<void> {
  // This file runs from out/test/vscode/.
  const root = path.resolve(__dirname, '..', '..', '..');
  try {
    await runTests({
      ...(process.env['VSCODE_VERSION'] ? { version: process.env['VSCODE_VERSION'] } : {}),
      extensionDevelopmentPath: root,
      extensionTestsPath: path.join(__dirname, 'suite', 'index.js'),
      launchArgs: [path.join(root, 'samples'), '--disable-extensions', '--disable-workspace-trust', '--skip-welcome'],
    });
  } catch (err) {
    process.stderr.write(`VS Code tests failed: ${String(err)}\n`);
    process.exit(1);
  }
}

void main();

// Bundles the extension client, the language server, the CLI and the tests with esbuild.
// Type-checking is `tsc -b` (npm run typecheck); esbuild only strips types.
import * as esbuild from 'esbuild';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const watch = process.argv.includes('--watch');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  // jsonc-parser's "main" is a UMD build with dynamic requires that esbuild cannot follow.
  mainFields: ['module', 'main'],
  logLevel: 'warning',
};

function testEntries(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'fixtures' && name !== 'vscode') out.push(...testEntries(p));
    } else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

function vscodeTestEntries(dir) {
  return readdirSync(dir, { recursive: true }).filter((p) => p.endsWith('.ts')).map((p) => join(dir, p));
}

const builds = [
  { ...common, entryPoints: ['client/src/extension.ts'], outfile: 'client/out/extension.js', external: ['vscode'] },
  { ...common, entryPoints: ['server/src/server.ts'], outfile: 'server/out/server.js' },
  { ...common, entryPoints: ['server/src/cli.ts'], outfile: 'server/out/cli.js' },
  // Worker threads that analyse records for the CLI and for big files (server/src/node/workerPool.ts).
  { ...common, entryPoints: ['server/src/node/validateWorker.ts'], outfile: 'server/out/validateWorker.js' },
  // npm run bench (bench/README in bench/RESULTS.md).
  { ...common, entryPoints: ['bench/bench.ts'], outfile: 'out/bench/bench.js', packages: 'external' },
  // The dataset report view (browser; chart.js bundled in): the --html page inlines it, the webview loads it.
  { ...common, platform: 'browser', format: 'iife', minify: true, sourcemap: false, entryPoints: ['client/src/report/view/main.ts'], outfile: 'server/out/reportView.js' },
  // Tests: each file bundled with the sources it imports; npm packages stay external.
  { ...common, entryPoints: testEntries('test'), outdir: 'out/test', outbase: 'test', packages: 'external' },
  // The @vscode/test-electron suite (npm run test:vscode, not npm test): runs inside VS Code.
  { ...common, entryPoints: vscodeTestEntries('test/vscode'), outdir: 'out/test/vscode', outbase: 'test/vscode', packages: 'external' },
];

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}

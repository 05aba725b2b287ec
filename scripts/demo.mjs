// `npm run demo`: shows Tunekit on samples/ (the build runs first, see package.json). The samples
// hold broken datasets on purpose, so `tunekit validate` exits 1 here; the demo itself succeeds.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const run = (args) => {
  console.log(`\n$ tunekit ${args.join(' ')}`);
  return spawnSync(process.execPath, ['bin/tunekit.js', ...args], { stdio: 'inherit' }).status;
};

const status = run(['validate', 'samples/']);
console.log(`\n(exit status ${status}: 1 means errors were found, as expected for the broken samples)`);
if (existsSync('server/out/cli.js')) {
  const help = spawnSync(process.execPath, ['bin/tunekit.js', '--help'], { encoding: 'utf8' }).stdout ?? '';
  if (help.includes('tunekit report')) run(['report', 'samples/llava/train.json']);
}
console.log('\nOpen this folder in VS Code and press F5 to see the same diagnostics inline (README.md).');

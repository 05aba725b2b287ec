import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { killTree, waitFor } from './processes';

/** The last code-server line that runs on Node 20 (VS Code 1.100). */
export const CODE_SERVER_VERSION = '4.100.3';

/** Installs live outside the repository so `git status` stays clean and reruns are fast. */
export const CACHE_ROOT = process.env.TUNEKIT_E2E_CACHE ?? path.join(os.homedir(), '.cache', 'tunekit-e2e');
export const CODE_SERVER_DIR = path.join(CACHE_ROOT, `code-server-${CODE_SERVER_VERSION}`);
export const CODE_SERVER_BIN = path.join(CODE_SERVER_DIR, 'node_modules', 'code-server', 'out', 'node', 'entry.js');

type Log = (line: string) => void;

function installEnv(tmpDir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TMPDIR: tmpDir,
    // code-server's postinstall runs nested `npm install`s that must not stop to ask.
    npm_config_yes: 'true',
    // Its postinstall refuses to run as root without unsafe-perm.
    npm_config_unsafe_perm: 'true',
    // npm 11 announces that unreviewed install scripts will be blocked; this pinned, cached install
    // needs every native module's script (kerberos, node-pty, spdlog, argon2) to run.
    npm_config_dangerously_allow_all_scripts: 'true',
    // node-gyp builds the native modules against these headers instead of downloading them
    // from nodejs.org (offline machines); Debian's and NodeSource's nodejs ship them in /usr.
    ...(process.execPath.startsWith('/usr/bin/') && fs.existsSync('/usr/include/node/node.h') ? { npm_config_nodedir: '/usr' } : {}),
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
}

function npm(args: string[], cwd: string, env: NodeJS.ProcessEnv, log: Log): string {
  log(`$ npm ${args.join(' ')}  (in ${cwd})`);
  // stdout goes to our stderr too: the native builds' output is what explains a failed install.
  const out = execFileSync('npm', args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 256 << 20 });
  if (args[0] !== 'pack') process.stderr.write(out);
  return out;
}

/** Why the cached code-server is not usable, or undefined when it is (installed, postinstall ran). */
export function codeServerProblem(): string | undefined {
  if (!fs.existsSync(CODE_SERVER_BIN)) return `${CODE_SERVER_BIN} does not exist`;
  const vscodeModules = path.join(CODE_SERVER_DIR, 'node_modules', 'code-server', 'lib', 'vscode', 'node_modules');
  // The postinstall installs VS Code's own dependencies; ripgrep's binary is the last thing it fetches.
  if (!fs.existsSync(path.join(vscodeModules, '@vscode', 'ripgrep', 'bin', 'rg'))) return 'code-server\'s postinstall did not run (no lib/vscode/node_modules/@vscode/ripgrep/bin/rg)';
  try {
    const out = execFileSync(process.execPath, [CODE_SERVER_BIN, '--version'], { encoding: 'utf8', timeout: 300_000 });
    return out.startsWith(CODE_SERVER_VERSION) ? undefined : `code-server --version printed ${JSON.stringify(out)}`;
  } catch (err) {
    return `code-server --version failed: ${String(err)}`;
  }
}

/**
 * @vscode/ripgrep's postinstall downloads a release asset from GitHub unless
 * `$TMPDIR/vscode-ripgrep-cache-<version>/ripgrep-<tag>-<target>.tar.gz` exists. Seed that file with
 * Debian's `rg` so the install works offline. Version and tag are read from the packages themselves.
 */
function seedRipgrepCache(codeServerPkg: string, workDir: string, tmpDir: string, env: NodeJS.ProcessEnv, log: Log): void {
  const shrinkwrap = JSON.parse(fs.readFileSync(path.join(codeServerPkg, 'lib', 'vscode', 'npm-shrinkwrap.json'), 'utf8')) as {
    packages: Record<string, { version?: string }>;
  };
  const version = shrinkwrap.packages['node_modules/@vscode/ripgrep']?.version;
  if (!version) throw new Error('code-server does not pin @vscode/ripgrep any more; update the e2e installer');
  const tgz = npm(['pack', `@vscode/ripgrep@${version}`, '--silent'], workDir, env, log).trim().split('\n').pop() ?? '';
  const unpacked = path.join(workDir, 'ripgrep-pkg');
  fs.mkdirSync(unpacked, { recursive: true });
  execFileSync('tar', ['xzf', path.join(workDir, tgz), '-C', unpacked]);
  const postinstall = fs.readFileSync(path.join(unpacked, 'package', 'lib', 'postinstall.js'), 'utf8');
  const tag = /const VERSION = '([^']+)'/.exec(postinstall)?.[1];
  if (!tag) throw new Error('cannot find the ripgrep release tag in @vscode/ripgrep/lib/postinstall.js');
  const rg = execFileSync('sh', ['-c', 'command -v rg'], { encoding: 'utf8' }).trim();
  const stage = path.join(workDir, 'rg-stage');
  fs.mkdirSync(stage, { recursive: true });
  fs.copyFileSync(rg, path.join(stage, 'rg'));
  fs.chmodSync(path.join(stage, 'rg'), 0o755);
  const cacheDir = path.join(tmpDir, `vscode-ripgrep-cache-${version}`);
  fs.mkdirSync(cacheDir, { recursive: true });
  const asset = path.join(cacheDir, `ripgrep-${tag}-x86_64-unknown-linux-musl.tar.gz`);
  execFileSync('tar', ['czf', asset, '-C', stage, 'rg']);
  log(`seeded ${asset} with ${rg}`);
}

function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Why code-server cannot be installed here (a missing Debian package), or undefined. The offline
 * install builds native modules (kerberos, node-pty, spdlog, argon2) and seeds ripgrep from `rg`.
 */
export function installPrerequisiteProblem(): string | undefined {
  if (os.platform() !== 'linux' || os.arch() !== 'x64') return 'the e2e installer supports linux x64 only';
  for (const [cmd, pkg] of [['rg', 'ripgrep'], ['make', 'build-essential'], ['g++', 'build-essential'], ['python3', 'python3']] as const) {
    if (!hasCommand(cmd)) return `${cmd} not found (apt-get install -y ${pkg}), needed to install code-server offline`;
  }
  if (!fs.existsSync('/usr/include/krb5.h') && !fs.existsSync('/usr/include/gssapi/gssapi.h')) {
    return 'Kerberos headers not found (apt-get install -y libkrb5-dev), needed to build code-server';
  }
  return undefined;
}

/** Installs code-server into the cache folder unless a working install is already there. */
export function ensureCodeServer(log: Log): void {
  if (codeServerProblem() === undefined) return;
  const missing = installPrerequisiteProblem();
  if (missing) throw new Error(missing);
  const started = Date.now();
  fs.rmSync(CODE_SERVER_DIR, { recursive: true, force: true });
  const workDir = path.join(CODE_SERVER_DIR, 'work');
  const tmpDir = path.join(CODE_SERVER_DIR, 'tmp');
  fs.mkdirSync(workDir, { recursive: true });
  fs.mkdirSync(tmpDir, { recursive: true });
  const env = installEnv(tmpDir);

  const tgz = npm(['pack', `code-server@${CODE_SERVER_VERSION}`, '--silent'], workDir, env, log).trim().split('\n').pop() ?? '';
  const unpacked = path.join(workDir, 'code-server-pkg');
  fs.mkdirSync(unpacked, { recursive: true });
  execFileSync('tar', ['xzf', path.join(workDir, tgz), '-C', unpacked]);
  seedRipgrepCache(path.join(unpacked, 'package'), workDir, tmpDir, env, log);

  fs.writeFileSync(path.join(CODE_SERVER_DIR, 'package.json'), JSON.stringify({ name: 'tunekit-e2e-code-server', private: true }));
  // --foreground-scripts shows the native builds' progress, and their errors if any.
  npm(['install', '--no-save', '--unsafe-perm', '--foreground-scripts', path.join(workDir, tgz)], CODE_SERVER_DIR, env, log);
  const problem = codeServerProblem();
  if (problem) throw new Error(`code-server installed into ${CODE_SERVER_DIR} but does not work: ${problem}`);
  fs.rmSync(workDir, { recursive: true, force: true });
  log(`code-server ${CODE_SERVER_VERSION} installed in ${Math.round((Date.now() - started) / 1000)} s`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Runs the code-server CLI (extension management etc.) against the throwaway profile. */
export function codeServerCli(args: string[], dirs: ProfileDirs): string {
  return execFileSync(process.execPath, [CODE_SERVER_BIN, '--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions, ...args], {
    encoding: 'utf8',
    timeout: 180_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export interface ProfileDirs {
  root: string;
  userData: string;
  extensions: string;
}

export function makeProfile(settings: Record<string, unknown>): ProfileDirs {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tunekit-e2e-'));
  const dirs = { root, userData: path.join(root, 'user-data'), extensions: path.join(root, 'extensions') };
  fs.mkdirSync(path.join(dirs.userData, 'User'), { recursive: true });
  fs.mkdirSync(dirs.extensions, { recursive: true });
  fs.writeFileSync(path.join(dirs.userData, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
  return dirs;
}

export interface RunningCodeServer {
  url: string;
  process: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

/** Starts code-server on a free loopback port with auth off and waits until it answers HTTP. */
export async function startCodeServer(dirs: ProfileDirs, workspace: string, log: Log): Promise<RunningCodeServer> {
  const port = await freePort();
  fs.writeFileSync(path.join(dirs.root, 'code-server.yaml'), 'auth: none\n');
  const args = [
    CODE_SERVER_BIN,
    '--bind-addr', `127.0.0.1:${port}`,
    '--auth', 'none',
    // Not the user's ~/.config/code-server/config.yaml: the test decides every option.
    '--config', path.join(dirs.root, 'code-server.yaml'),
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--user-data-dir', dirs.userData,
    '--extensions-dir', dirs.extensions,
    workspace,
  ];
  const child = spawn(process.execPath, args, {
    // Its own process group, so killTree reaches the extension host and language server too.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TMPDIR: dirs.root },
  });
  let output = '';
  const collect = (b: Buffer): void => {
    output += b.toString();
    if (output.length > 1 << 20) output = output.slice(-(1 << 19));
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const url = `http://127.0.0.1:${port}/`;
  const stop = (): Promise<void> => killTree(child);
  try {
    await waitFor('code-server to answer HTTP', 120_000, async () => {
      if (child.exitCode !== null) throw new Error(`code-server exited with ${child.exitCode}:\n${output}`);
      try {
        const res = await fetch(`${url}healthz`);
        return res.ok;
      } catch {
        return false;
      }
    });
  } catch (err) {
    await stop();
    throw err;
  }
  log(`code-server pid ${child.pid} on ${url}`);
  return { url, process: child, output: () => output, stop };
}

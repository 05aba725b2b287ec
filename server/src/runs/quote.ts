/**
 * The one place that turns values into POSIX shell words. Every remote command Tunekit builds
 * (ssh command lines, run.sh, Slurm job scripts, SkyPilot `run:` sections) goes through here, so a
 * config value such as `$(rm -rf ~)`, a backtick, `;` or a newline stays a literal string.
 *
 * Single quotes are the only quoting with no special characters inside, so the implementation is
 * the textbook one: wrap in '…' and write each embedded ' as '\'' . NUL cannot appear in a shell
 * word or an argv entry at all, so it is refused rather than silently dropped.
 */

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

export class UnquotableError extends Error {}

/** One shell word whose value is exactly `value`. */
export function shellQuote(value: string): string {
  if (value.includes('\0')) throw new UnquotableError('A value contains a NUL character, which no shell word or program argument can hold.');
  if (value !== '' && SAFE.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A command line: each argv entry quoted, joined by spaces. */
export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

/**
 * A remote path as a shell word. A leading `~` or `~/` means the remote user's home: it becomes
 * `"$HOME"` (the only expansion allowed) followed by the quoted rest.
 */
export function quoteRemotePath(p: string): string {
  if (p === '~') return '"$HOME"';
  if (p.startsWith('~/')) return `"$HOME"/${shellQuote(p.slice(2))}`;
  return shellQuote(p);
}

/** `NAME=value` assignments for `env`, refusing names that are not plain identifiers. */
export function envAssignment(name: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new UnquotableError(`"${name}" is not a valid environment variable name.`);
  return `${name}=${shellQuote(value)}`;
}

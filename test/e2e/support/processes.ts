import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';

/** Polls `check` until it returns true (or a value), failing after `timeoutMs` with `what` in the message. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | false> | T | false, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== false) return value;
    } catch (err) {
      lastError = err;
      // An exited process is final: do not wait out the deadline.
      if (err instanceof Error && /exited/.test(err.message)) throw err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pids of every live process whose process group is `pgid` (read from /proc). */
export function processGroupMembers(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the parenthesised command name: state ppid pgrp ...
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') pids.push(Number(entry));
    } catch {
      // The process exited while we were reading.
    }
  }
  return pids;
}

/** Command lines of live processes that descend from `rootPid` (from /proc, no `ps` needed). */
export function descendants(rootPid: number): { pid: number; cmdline: string }[] {
  const parent = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z') parent.set(Number(entry), Number(fields[1]));
    } catch {
      // Gone already.
    }
  }
  const out: { pid: number; cmdline: string }[] = [];
  for (const pid of parent.keys()) {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === rootPid) {
        try {
          out.push({ pid, cmdline: fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim() });
        } catch {
          // Gone already.
        }
        break;
      }
    }
  }
  return out;
}

/**
 * Stops a child started with `detached: true` (its own process group) and everything it spawned
 * in that group: SIGTERM, then SIGKILL for whatever is left after a grace period.
 */
export async function killTree(child: ChildProcess, graceMs = 5_000): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const signalGroup = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-pid, sig);
    } catch {
      // Group already empty.
    }
  };
  signalGroup('SIGTERM');
  try {
    await waitFor(`process group ${pid} to exit`, graceMs, () => !alive(pid) && processGroupMembers(pid).length === 0, 100);
  } catch {
    signalGroup('SIGKILL');
    await waitFor(`process group ${pid} to die`, 5_000, () => processGroupMembers(pid).length === 0, 100).catch(() => undefined);
  }
}

import { PassThrough } from 'node:stream';
import { main } from '../../server/src/cli';

/** Runs the CLI in-process with captured streams; `tty` makes stderr look like a terminal (progress output). */
export async function runCli(args: string[], tty = false): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  if (tty) (err as unknown as { isTTY: boolean }).isTTY = true;
  let stdout = '';
  let stderr = '';
  out.on('data', (d: Buffer) => (stdout += d.toString()));
  err.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await main(args, out, err);
  return { code, stdout, stderr };
}

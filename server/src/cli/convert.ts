import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { CONVERT_TARGETS, type ConvertTarget } from '../core/convert';
import { convertFile } from '../node/dataFiles';
import { CliUsageError, SETTINGS_OPTIONS, settingsFromFlags } from './flags';

export const CONVERT_USAGE = `  tunekit convert --to ${CONVERT_TARGETS.join('|')} [--out FILE] [--force] [--format F] FILE`;

/** Warnings printed one per line before the rest are summed up. */
const MAX_WARNINGS = 200;

/** `tunekit convert`: lossless where the formats allow, one warning per record where not; exit 1 when a record could not be converted. */
export async function convertCommand(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      to: { type: 'string' },
      out: { type: 'string' },
      force: { type: 'boolean', default: false },
      ...SETTINGS_OPTIONS,
    },
  });
  if (positionals.length !== 1) throw new CliUsageError('convert takes exactly one FILE');
  if (!values.to || !(CONVERT_TARGETS as readonly string[]).includes(values.to)) throw new CliUsageError(`--to must be one of ${CONVERT_TARGETS.join(', ')}`);
  const settings = settingsFromFlags(values);
  const input = positionals[0]!;
  const shown = path.relative(process.cwd(), input) || input;
  let warnings = 0;
  try {
    const r = await convertFile(input, {
      settings,
      to: values.to as ConvertTarget,
      ...(values.out !== undefined ? { output: values.out } : {}),
      force: values.force,
      onWarning: (line, message) => {
        if (++warnings <= MAX_WARNINGS) err.write(`${shown}:${line}: warning: ${message}\n`);
      },
    });
    if (warnings > MAX_WARNINGS) err.write(`tunekit: … and ${(warnings - MAX_WARNINGS).toLocaleString('en-US')} more warnings\n`);
    const target = path.relative(process.cwd(), r.output) || r.output;
    out.write(
      `${r.written.toLocaleString('en-US')} of ${r.records.toLocaleString('en-US')} records converted to ${values.to} → ${target}` +
        (r.lossy ? `; ${r.lossy.toLocaleString('en-US')} with warnings` : '') +
        (r.skipped ? `; ${r.skipped.toLocaleString('en-US')} skipped` : '') +
        '\n',
    );
    return r.skipped > 0 ? 1 : 0;
  } catch (e) {
    err.write(`tunekit: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? `${input}: no such file` : (e as Error).message}\n`);
    return 2;
  }
}

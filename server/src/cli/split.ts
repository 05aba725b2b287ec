import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { splitFile } from '../node/dataFiles';
import { CliUsageError, SETTINGS_OPTIONS, settingsFromFlags } from './flags';

export const SPLIT_USAGE = '  tunekit split [--validation F|N] [--seed N] [--no-stratify] [--train FILE] [--val FILE] [--force] FILE';

/** `tunekit split`: a deterministic, seeded train/validation split, stratified by label when there are labels. */
export async function splitCommand(args: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      validation: { type: 'string', default: '0.1' },
      seed: { type: 'string', default: '42' },
      'no-stratify': { type: 'boolean', default: false },
      train: { type: 'string' },
      val: { type: 'string' },
      force: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      ...SETTINGS_OPTIONS,
    },
  });
  if (positionals.length !== 1) throw new CliUsageError('split takes exactly one FILE');
  const validation = Number(values.validation);
  if (!Number.isFinite(validation) || validation <= 0 || (validation >= 1 && !Number.isInteger(validation))) {
    throw new CliUsageError('--validation is a fraction between 0 and 1 (0.1) or a whole number of records (500)');
  }
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) throw new CliUsageError('--seed must be a whole number');
  const settings = settingsFromFlags(values);
  const input = positionals[0]!;
  try {
    const r = await splitFile(input, {
      settings,
      validation,
      seed,
      stratify: !values['no-stratify'],
      ...(values.train !== undefined ? { trainFile: values.train } : {}),
      ...(values.val !== undefined ? { validationFile: values.val } : {}),
      force: values.force,
    });
    const show = (f: string): string => path.relative(process.cwd(), f) || f;
    if (values.json) {
      out.write(JSON.stringify({ train: { file: show(r.trainFile), records: r.train }, validation: { file: show(r.validationFile), records: r.validation }, seed, strata: r.plan.strata, byLabel: r.plan.byLabel }) + '\n');
    } else {
      out.write(`train:      ${r.train.toLocaleString('en-US')} records → ${show(r.trainFile)}\n`);
      out.write(`validation: ${r.validation.toLocaleString('en-US')} records → ${show(r.validationFile)}\n`);
      out.write(r.plan.strata > 0 ? `stratified by label over ${r.plan.strata} labels, seed ${seed}\n` : `not stratified (no label set), seed ${seed}\n`);
    }
    return 0;
  } catch (e) {
    err.write(`tunekit: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? `${input}: no such file` : (e as Error).message}\n`);
    return 2;
  }
}

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { z } from 'zod';
import { DEFAULT_SETTINGS, parseSettings, settingsSchema } from '../../server/src/core/settings';
import { ROOT } from '../helpers/fixtures';

interface Contributed {
  type: string;
  default: unknown;
  enum?: unknown[];
}

const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  contributes: { configuration: { properties: Record<string, Contributed> } };
};
const contributed = manifest.contributes.configuration.properties;

/** Flattens the zod schema into dotted setting names, as VS Code names them. */
function flatten(schema: z.ZodObject, prefix: string, out: Map<string, z.ZodType>): Map<string, z.ZodType> {
  for (const [key, value] of Object.entries(schema.shape)) {
    let inner = value as z.ZodType;
    while (inner instanceof z.ZodDefault || inner instanceof z.ZodOptional) inner = (inner as z.ZodDefault<z.ZodType>).unwrap();
    if (inner instanceof z.ZodObject) flatten(inner, `${prefix}${key}.`, out);
    else out.set(`${prefix}${key}`, inner);
  }
  return out;
}

const fromSchema = flatten(settingsSchema, 'tunekit.', new Map());

function defaultAt(dotted: string): unknown {
  let cur: unknown = DEFAULT_SETTINGS;
  for (const part of dotted.replace(/^tunekit\./, '').split('.')) cur = (cur as Record<string, unknown>)[part];
  return cur;
}

test('package.json contributes exactly the settings of the zod schema', () => {
  const contributedKeys = Object.keys(contributed).filter((k) => k.startsWith('tunekit.')).sort();
  assert.deepEqual(contributedKeys, [...fromSchema.keys()].sort());
});

for (const [key, schema] of fromSchema) {
  test(`setting ${key}: default, type and enum match the schema`, () => {
    const c = contributed[key]!;
    assert.deepEqual(c.default, defaultAt(key), `${key}: default`);
    const jsonType = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as { type?: string; enum?: unknown[] };
    if (jsonType.type) assert.equal(c.type, jsonType.type, `${key}: type`);
    if (jsonType.enum) assert.deepEqual(c.enum, jsonType.enum, `${key}: enum`);
  });
}

test('a bad value for one setting falls back to its default and is reported', () => {
  const { settings, problems } = parseSettings({ target: 'nope', maxTokens: 100 });
  assert.equal(settings.target, 'generic');
  assert.equal(settings.maxTokens, 100);
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /tunekit\.target/);
});

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { completionsAt, hoverMarkdown } from '../../server/src/runs/configHelp';
import { cursorContext, parseRunConfig } from '../../server/src/runs/configYaml';
import { runConfigJsonSchema, runConfigSchema } from '../../server/src/runs/schema';
import { ROOT } from '../helpers/fixtures';

const SCHEMA_FILE = path.join(ROOT, 'media', 'schemas', 'tunekit-run.schema.json');

/** `text` with a `|` marking the cursor: returns the text without it and the offset. */
function cursor(marked: string): { text: string; offset: number } {
  const offset = marked.indexOf('|');
  return { text: marked.slice(0, offset) + marked.slice(offset + 1), offset };
}

/** The underlined text of each problem, with its message. */
function problems(text: string): { at: string; message: string }[] {
  return parseRunConfig(text).problems.map((p) => ({ at: text.slice(p.start, p.end), message: p.message }));
}

const VALID = `name: demo
model: Qwen/Qwen2-VL-2B-Instruct
template: qwen2_vl
method: lora
hyperparameters:
  epochs: 2
  learningRate: 2.0e-4
datasets:
  - path: data/a.jsonl
    ratio: 2
  - path: data/b.jsonl
backend:
  type: slurm
  host: login.example.org
  partition: gpu
  nodes: 2
  gpusPerNode: 4
  timeLimit: "12:00:00"
secrets: [HF_TOKEN]
`;

test('the samples parse and fill defaults', () => {
  for (const f of ['smoke.tunekit.yaml', 'smoke-slurm.tunekit.yaml']) {
    const parsed = parseRunConfig(fs.readFileSync(path.join(ROOT, 'samples', 'runs', f), 'utf8'));
    assert.deepEqual(parsed.problems, [], f);
    assert.equal(parsed.config?.recipe, 'smoke');
    assert.equal(parsed.config?.datasets[0]?.ratio, 1);
  }
  const c = parseRunConfig(VALID).config!;
  assert.equal(c.recipe, 'llamafactory');
  assert.equal(c.hyperparameters.batchSize, 1);
  assert.equal(c.hyperparameters.learningRate, 2e-4);
  assert.deepEqual(c.outputs.include.slice(0, 2), ['adapter_model.*', 'adapter_config.json']);
  assert.equal(c.backend.type === 'slurm' && c.backend.gpusPerNode, 4);
});

test('a wrong enum value is reported on the value node, naming the allowed values', () => {
  const p = problems(VALID.replace('method: lora', 'method: loraa'));
  assert.equal(p.length, 1);
  assert.equal(p[0]!.at, 'loraa');
  assert.match(p[0]!.message, /method must be one of lora, qlora, full/);
});

test('an unknown field is reported on its key', () => {
  const p = problems(VALID.replace('  nodes: 2', '  nodez: 2'));
  assert.deepEqual(p.map((x) => x.at), ['nodez']);
  assert.match(p[0]!.message, /Unknown field "nodez" in backend/);
});

test('a nested type error lands on the exact list item value', () => {
  const p = problems(VALID.replace('    ratio: 2', '    ratio: lots'));
  assert.equal(p[0]!.at, 'lots');
  assert.match(p[0]!.message, /datasets\[0\]\.ratio must be number/);
});

test('a missing required field is reported on its parent key', () => {
  const p = problems(VALID.replace('  host: login.example.org\n', '').replace('type: slurm', 'type: ssh').replace(/  partition.*\n  nodes.*\n  gpusPerNode.*\n  timeLimit.*\n/, ''));
  assert.equal(p.length, 1);
  assert.equal(p[0]!.at, 'backend');
  assert.match(p[0]!.message, /backend\.host is required/);
});

test('an unknown backend type is reported on the type value', () => {
  const p = problems(VALID.replace('type: slurm', 'type: kubernetes'));
  assert.equal(p[0]!.at, 'kubernetes');
  assert.match(p[0]!.message, /backend\.type must be one of ssh, slurm, skypilot/);
});

test('recipe requirements: llamafactory needs a template, command needs a command', () => {
  const p = problems(VALID.replace('template: qwen2_vl\n', ''));
  // recipe is left at its default, so the problem sits on the first line of the file.
  assert.equal(p[0]!.at, 'name: demo');
  assert.match(p[0]!.message, /needs a `template`/);
  const q = problems(VALID + 'recipe: command\n');
  assert.equal(q[0]!.at, 'command');
  assert.match(q[0]!.message, /needs a `command` list/);
});

test('values that would reach #SBATCH lines or the shell unquoted are refused', () => {
  assert.match(problems(VALID.replace('partition: gpu', 'partition: "gpu\\n#SBATCH --wrap=x"'))[0]!.message, /partition may hold/);
  assert.match(problems(VALID.replace('name: demo', 'name: "demo; rm -rf ~"'))[0]!.message, /name may hold/);
  assert.match(problems(VALID.replace('secrets: [HF_TOKEN]', 'secrets: ["HF TOKEN"]'))[0]!.message, /secret names/);
});

test('a secret also set in env is refused so its value never lands in the bundle', () => {
  const p = problems(VALID + 'env:\n  HF_TOKEN: abc\n');
  assert.equal(p[0]!.at, 'abc');
  assert.match(p[0]!.message, /also listed under secrets/);
});

test('YAML syntax errors are reported with a position, never thrown', () => {
  const p = parseRunConfig('name: demo\nbackend: [\n');
  assert.ok(p.problems.length > 0);
  assert.equal(p.config, undefined);
  assert.equal(parseRunConfig('').config, undefined);
  assert.ok(parseRunConfig('').problems.length > 0);
});

test('completion offers enum values for method and recipe', () => {
  const { text, offset } = cursor(VALID.replace('method: lora', 'method: |'));
  const parsed = parseRunConfig(text);
  const ctx = cursorContext(parsed.doc, text, offset);
  assert.deepEqual(ctx.path, ['method']);
  const labels = completionsAt(ctx.path, ctx.onKey, parsed.doc.toJS(), new Set()).map((c) => c.label);
  assert.deepEqual(labels, ['lora', 'qlora', 'full']);
  const r = cursor('name: x\nrecipe: |\n');
  const pr = parseRunConfig(r.text);
  const rc = cursorContext(pr.doc, r.text, r.offset);
  assert.deepEqual(completionsAt(rc.path, rc.onKey, pr.doc.toJS(), new Set()).map((c) => c.label), ['llamafactory', 'ms-swift', 'command', 'smoke']);
});

test('completion offers backend types and the chosen backend\'s own fields', () => {
  const t = cursor('name: x\nbackend:\n  type: |\n');
  const pt = parseRunConfig(t.text);
  const ct = cursorContext(pt.doc, t.text, t.offset);
  assert.deepEqual(ct.path, ['backend', 'type']);
  assert.deepEqual(completionsAt(ct.path, ct.onKey, pt.doc.toJS(), new Set()).map((c) => c.label), ['ssh', 'slurm', 'skypilot']);
  const k = cursor('name: x\nbackend:\n  type: skypilot\n  |\n');
  const pk = parseRunConfig(k.text);
  const ck = cursorContext(pk.doc, k.text, k.offset);
  assert.deepEqual(ck, { path: ['backend'], onKey: true });
  const keys = completionsAt(ck.path, ck.onKey, pk.doc.toJS(), new Set(['type'])).map((c) => c.label);
  assert.ok(keys.includes('accelerators') && keys.includes('autostop') && keys.includes('managed'));
  assert.ok(!keys.includes('partition') && !keys.includes('type'));
});

test('completion inside a dataset item offers the item fields; stage offers 1 and 2', () => {
  const k = cursor('name: x\ndatasets:\n  - path: a.jsonl\n    |\n');
  const pk = parseRunConfig(k.text);
  const ck = cursorContext(pk.doc, k.text, k.offset);
  assert.deepEqual(ck.path, ['datasets', 0]);
  assert.deepEqual(completionsAt(ck.path, true, pk.doc.toJS(), new Set(['path'])).map((c) => c.label), ['ratio', 'stage']);
  const s = cursor('name: x\ndatasets:\n  - path: a.jsonl\n  - path: b.jsonl\n    stage: |\n');
  const ps = parseRunConfig(s.text);
  const cs = cursorContext(ps.doc, s.text, s.offset);
  assert.deepEqual(cs.path, ['datasets', 1, 'stage']);
  assert.deepEqual(completionsAt(cs.path, false, ps.doc.toJS(), new Set()).map((c) => c.label), ['1', '2']);
});

test('hover documents every field of the schema', () => {
  const paths: (string | number)[][] = [];
  const walk = (schema: Record<string, unknown>, at: (string | number)[]): void => {
    const props = schema['properties'] as Record<string, Record<string, unknown>> | undefined;
    for (const [k, v] of Object.entries(props ?? {})) {
      paths.push([...at, k]);
      walk(v, [...at, k]);
      const items = v['items'] as Record<string, unknown> | undefined;
      if (items?.['properties']) walk(items, [...at, k, 0]);
    }
    for (const variant of (schema['oneOf'] ?? schema['anyOf'] ?? []) as Record<string, unknown>[]) walk(variant, at);
  };
  walk(runConfigJsonSchema(), []);
  assert.ok(paths.length > 40, `only ${paths.length} fields`);
  for (const p of paths) {
    const backendType = p[0] === 'backend' ? { backend: { type: ['ssh', 'slurm', 'skypilot'].find((t) => hoverMarkdown(p, { backend: { type: t } })) } } : {};
    const md = hoverMarkdown(p, backendType);
    assert.ok(md && md.split('\n').filter((l) => l.trim()).length >= 2, `no documentation for ${p.join('.')}`);
  }
  const h = hoverMarkdown(['backend', 'autostop'], { backend: { type: 'skypilot' } })!;
  assert.match(h, /Minutes of idleness/);
  assert.match(h, /Default: `30`/);
  const m = hoverMarkdown(['method'], {})!;
  assert.match(m, /Values: `lora`, `qlora`, `full`/);
});

test('media/schemas/tunekit-run.schema.json is the JSON Schema of the zod schema (UPDATE_SCHEMAS=1 rewrites it)', () => {
  const expected = JSON.stringify(runConfigJsonSchema(), null, 2) + '\n';
  if (process.env['UPDATE_SCHEMAS'] === '1') {
    fs.mkdirSync(path.dirname(SCHEMA_FILE), { recursive: true });
    fs.writeFileSync(SCHEMA_FILE, expected);
  }
  assert.equal(fs.readFileSync(SCHEMA_FILE, 'utf8'), expected);
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { contributes: { yamlValidation?: { fileMatch: string | string[]; url: string }[] } };
  const contribution = manifest.contributes.yamlValidation?.find((v) => v.url.endsWith('tunekit-run.schema.json'));
  assert.ok(contribution, 'package.json contributes.yamlValidation names the schema');
  assert.deepEqual([contribution.fileMatch].flat(), ['*.tunekit.yaml']);
  assert.equal(path.resolve(ROOT, contribution.url), SCHEMA_FILE);
});

test('the zod schema and the JSON Schema agree on a valid and an invalid config', () => {
  const good = parseRunConfig(VALID).doc.toJS() as unknown;
  assert.ok(runConfigSchema.safeParse(good).success);
  const schema = runConfigJsonSchema() as { properties: Record<string, { enum?: string[] }>; additionalProperties?: boolean };
  assert.deepEqual(schema.properties['method']!.enum, ['lora', 'qlora', 'full']);
  assert.equal(schema.additionalProperties, false);
});

import { runConfigJsonSchema } from './schema';
import type { YamlPath } from './configYaml';

/**
 * Hover text and completions for run configs, read from the JSON Schema generated from the zod
 * schema, so the documentation shown in the editor is the schema's own `describe()` text.
 */

type JsonSchema = {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
};

let cached: JsonSchema | undefined;
function rootSchema(): JsonSchema {
  cached ??= runConfigJsonSchema() as JsonSchema;
  return cached;
}

/** The schema of the field at `path`; `value` is the document's data, used to pick the backend variant. */
export function schemaAt(path: YamlPath, value: unknown): JsonSchema | undefined {
  let s: JsonSchema | undefined = rootSchema();
  let v: unknown = value;
  for (const seg of path) {
    if (!s) return undefined;
    s = pickVariant(s, v);
    if (typeof seg === 'number') s = s.items;
    else s = s.properties?.[seg] ?? (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
    v = v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[seg] : undefined;
  }
  return s ? pickVariant(s, v) : undefined;
}

/** For a union of objects (the backends), the variant matching the value's `type`, or all properties merged. */
function pickVariant(s: JsonSchema, v: unknown): JsonSchema {
  const variants = s.oneOf ?? s.anyOf;
  if (!variants || !variants.every((x) => x.properties)) return s;
  const t = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)['type'] : undefined;
  const match = variants.find((x) => x.properties?.['type']?.const === t);
  if (match) return { ...match, description: s.description ?? match.description };
  const properties: Record<string, JsonSchema> = {};
  for (const x of variants) Object.assign(properties, x.properties);
  properties['type'] = { type: 'string', enum: variants.map((x) => x.properties?.['type']?.const), description: s.description ?? '' };
  return { type: 'object', properties, description: s.description ?? '' };
}

/** Markdown for a hover on the field at `path`. */
export function hoverMarkdown(path: YamlPath, value: unknown): string | undefined {
  const s = schemaAt(path, value);
  if (!s) return undefined;
  const shown = path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.').replace(/\.\[/g, '[');
  const lines = [`**${shown || 'run config'}**${typeLabel(s) ? ` · ${typeLabel(s)}` : ''}`, ''];
  if (s.description) lines.push(s.description);
  const values = allowedValues(s);
  if (values.length) lines.push('', `Values: ${values.map((x) => `\`${String(x)}\``).join(', ')}`);
  if (s.default !== undefined && !(typeof s.default === 'object' && s.default !== null && !Array.isArray(s.default))) lines.push('', `Default: \`${JSON.stringify(s.default)}\``);
  return lines.join('\n');
}

function typeLabel(s: JsonSchema): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return 'one of the values below';
  if (s.anyOf) return s.anyOf.map(typeLabel).filter(Boolean).join(' or ');
  if (s.type === 'array') return `list of ${s.items ? typeLabel(s.items) || 'values' : 'values'}`;
  if (typeof s.type === 'string') return s.type === 'integer' ? 'whole number' : s.type;
  return '';
}

/** Enum, const and boolean values a field accepts. */
export function allowedValues(s: JsonSchema): unknown[] {
  if (s.enum) return s.enum;
  if (s.const !== undefined) return [s.const];
  if (s.type === 'boolean') return [true, false];
  const variants = s.anyOf ?? s.oneOf;
  if (variants) {
    const out = variants.flatMap(allowedValues);
    if (out.length && variants.every((v) => allowedValues(v).length > 0)) return out;
  }
  return [];
}

export interface ConfigCompletion {
  label: string;
  /** Text to insert (keys get ": " or ":\n  " appended). */
  insertText: string;
  kind: 'property' | 'value';
  documentation?: string;
  detail?: string;
}

/**
 * Completions at a cursor: the fields of the enclosing map that are not written yet (`onKey`), or
 * the values a field accepts (enums, backend types, booleans).
 */
export function completionsAt(path: YamlPath, onKey: boolean, value: unknown, present: ReadonlySet<string>): ConfigCompletion[] {
  if (onKey) {
    const s = schemaAt(path, value);
    if (!s?.properties) return [];
    return Object.entries(s.properties)
      .filter(([k]) => !present.has(k))
      .map(([k, p]) => {
        const isBlock = p.type === 'object' || (p.type === 'array' && p.items?.type === 'object') || !!p.oneOf;
        const c: ConfigCompletion = { label: k, insertText: isBlock ? `${k}:\n  ` : `${k}: `, kind: 'property' };
        if (p.description) c.documentation = p.description;
        const label = typeLabel(p);
        if (label) c.detail = label;
        return c;
      });
  }
  const s = schemaAt(path, value);
  if (!s) return [];
  return allowedValues(s).map((v) => ({ label: String(v), insertText: String(v), kind: 'value' as const, ...(s.description ? { documentation: s.description } : {}) }));
}

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

/** The repository root; every path in these tests is relative to it. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type Json = Record<string, unknown>;

export function repoPath(path: string): string {
  return `${ROOT}${path}`;
}

export function readText(path: string): string {
  return readFileSync(repoPath(path), 'utf8');
}

/** One YAML document; `<<` merge keys resolved, as Compose does. */
export function readYaml(path: string): unknown {
  return parse(readText(path), { merge: true });
}

/** Every non-empty document of a multi-document YAML file; a syntax error throws. */
export function readYamlDocuments(path: string): unknown[] {
  return parseAllDocuments(readText(path)).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0]?.message}`);
    const value: unknown = doc.toJS();
    return value === null ? [] : [value];
  });
}

export function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function record(value: unknown, what: string): Json {
  if (!isRecord(value)) throw new Error(`${what}: expected an object, got ${JSON.stringify(value)}`);
  return value;
}

export function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${what}: expected a list, got ${JSON.stringify(value)}`);
  return value;
}

export function text(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new Error(`${what}: expected a string, got ${JSON.stringify(value)}`);
  return value;
}

/** `at(obj, 'spec', 'template')`: the value at that path, or undefined where a step is missing. */
export function at(value: unknown, ...path: Array<string | number>): unknown {
  let current = value;
  for (const step of path) {
    if (typeof step === 'number') current = Array.isArray(current) ? current[step] : undefined;
    else current = isRecord(current) ? current[step] : undefined;
  }
  return current;
}

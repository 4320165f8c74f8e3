import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { expect } from 'vitest';

/*
 * Checks shared by the OpenAPI tests of the dispatcher and the web: the document is valid OpenAPI
 * 3.1, its operations are exactly the routes the app registers, and a body or answer can be held
 * to the schema the document gives for it.
 */

export type OpenApiDocument = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
};

type JsonSchema = Record<string, unknown>;
type Operation = {
  parameters?: { name: string; in: string; required: boolean; schema: JsonSchema }[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, { content?: Record<string, { schema: JsonSchema }> }>;
};

/** Validates with @seriousme/openapi-schema-validator (the OpenAPI 3.1 JSON Schemas), then every schema with ajv. */
export async function expectValidOpenApi(document: OpenApiDocument): Promise<void> {
  const validator = new Validator({ strict: false });
  const result = await validator.validate(document as unknown as Record<string, unknown>);
  expect(result.errors ?? []).toEqual([]);
  expect(result.valid).toBe(true);
  expect(validator.version).toBe('3.1');
  // The OpenAPI meta-schema does not compile the schemas it holds: compiling each one in strict
  // mode catches a keyword ajv does not know (a typo, a draft-07 leftover).
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, op] of Object.entries(item)) {
      for (const schema of schemasOf(op)) {
        expect(() => compile(schema), `${method} ${path}`).not.toThrow();
      }
    }
  }
}

function schemasOf(op: Operation): JsonSchema[] {
  return [
    ...(op.parameters ?? []).map((p) => p.schema),
    ...Object.values(op.requestBody?.content ?? {}).map((c) => c.schema),
    ...Object.values(op.responses).flatMap((r) => Object.values(r.content ?? {}).map((c) => c.schema)),
  ];
}

/** `GET /topics/{topic}/viewers` for every operation of the document. */
export function documentedRoutes(document: OpenApiDocument): string[] {
  return Object.entries(document.paths)
    .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();
}

function operation(document: OpenApiDocument, method: string, path: string): Operation {
  const op = document.paths[path]?.[method.toLowerCase()];
  if (!op) throw new Error(`${method} ${path} is not in the document`);
  return op;
}

const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats.default(ajv);
const compiled = new WeakMap<JsonSchema, ValidateFunction>();

function compile(schema: JsonSchema): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  return validate;
}

/** The documented JSON request body schema of an operation, as a validator. */
export function requestValidator(document: OpenApiDocument, method: string, path: string): ValidateFunction {
  const schema = operation(document, method, path).requestBody?.content['application/json']?.schema;
  if (!schema) throw new Error(`${method} ${path} documents no JSON body`);
  return compile(schema);
}

/** The documented schema of one query or path parameter, as a validator. */
export function parameterValidator(
  document: OpenApiDocument,
  method: string,
  path: string,
  name: string,
): ValidateFunction {
  const parameter = operation(document, method, path).parameters?.find((p) => p.name === name);
  if (!parameter) throw new Error(`${method} ${path} documents no parameter ${name}`);
  return compile(parameter.schema);
}

/** Fails unless the document lists `status` for the operation and `body` fits its schema. */
export function expectDocumentedAnswer(
  document: OpenApiDocument,
  method: string,
  path: string,
  status: number,
  body: unknown,
): void {
  const response = operation(document, method, path).responses[String(status)];
  expect(response, `${method} ${path} documents no ${status}`).toBeDefined();
  const schema = response?.content?.['application/json']?.schema;
  expect(schema, `${method} ${path} ${status} documents no JSON body`).toBeDefined();
  const validate = compile(schema as JsonSchema);
  expect(validate(body), `${method} ${path} ${status}: ${ajv.errorsText(validate.errors)}`).toBe(true);
}

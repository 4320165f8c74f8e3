import { z } from 'zod';
import { ERROR_STATUS, type ErrorCode } from '../errors.js';

/*
 * OpenAPI 3.1 documents built from the zod schemas the routes parse with. zod 4's own
 * `z.toJSONSchema` writes JSON Schema 2020-12, the dialect of OpenAPI 3.1, so a schema change in a
 * route shows in its document without a second copy to keep in step. What JSON Schema cannot say
 * (refinements: reserved event types, the 8 KiB data limit, text rules) is dropped from the
 * schema and said in the route's description instead.
 */

export type JsonSchema = { [key: string]: unknown };
export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface ResponseDoc {
  description: string;
  /** JSON body; omitted for an answer without one. */
  schema?: z.ZodType;
  /** Another content type than JSON (`/metrics`): its body is described as a string. */
  contentType?: string;
  /** Pre-built JSON Schema, for a body no zod schema describes (a document served as is). */
  jsonSchema?: JsonSchema;
}

export interface HeaderDoc {
  name: string;
  description: string;
  schema: z.ZodType;
  required?: boolean;
}

/** One route as its handler validates it: the schemas it parses with and what it answers. */
export interface RouteDoc {
  method: HttpMethod;
  /** OpenAPI form, `{name}` for a path parameter: `/topics/{topic}/viewers`. */
  path: string;
  summary: string;
  description?: string;
  tags?: string[];
  /** Name of a security scheme of the document; none: anyone may call. */
  security?: string;
  params?: z.ZodObject;
  query?: z.ZodObject;
  headers?: HeaderDoc[];
  body?: z.ZodType;
  /** Default true; false where an empty body counts as `{}`. */
  bodyRequired?: boolean;
  responses: Record<number, ResponseDoc>;
  /** Every error code the route may answer; each becomes a response of its status. */
  errors: readonly ErrorCode[];
}

export interface OpenApiOptions {
  info: { title: string; version: string; description: string };
  securitySchemes: Record<string, JsonSchema>;
  tags?: { name: string; description: string }[];
}

/**
 * A zod schema as JSON Schema 2020-12. Requests are described as the route accepts them (`input`:
 * defaults optional, unknown keys allowed since zod strips them); responses too, since the
 * contract lets any JSON object gain fields (an `output` schema would forbid them). AsyncAPI 3's
 * default schema format is a superset of draft 7, hence `target`.
 */
export function jsonSchemaOf(schema: z.ZodType, target: 'draft-2020-12' | 'draft-7' = 'draft-2020-12'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    target,
    unrepresentable: 'any',
  }) as JsonSchema;
  return rest;
}

/** The contract's error body, `{ error: { code, message } }`, with the codes one answer may carry. */
export function errorBodySchema(codes: readonly ErrorCode[]) {
  return z.object({
    error: z.object({
      code: z.enum(codes as [ErrorCode, ...ErrorCode[]]),
      message: z.string().meta({ description: 'for humans; a 400 names the field' }),
    }),
  });
}

const ALL_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

export function buildOpenApi(options: OpenApiOptions, routes: readonly RouteDoc[]): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    const item = paths[route.path] ?? {};
    if (item[route.method]) throw new Error(`${route.method.toUpperCase()} ${route.path} is documented twice`);
    item[route.method] = operation(route);
    paths[route.path] = item;
  }
  return {
    openapi: '3.1.0',
    info: options.info,
    ...(options.tags ? { tags: options.tags } : {}),
    paths,
    components: {
      securitySchemes: options.securitySchemes,
      schemas: { ErrorBody: jsonSchemaOf(errorBodySchema(ALL_CODES)) },
    },
  };
}

function operation(route: RouteDoc): JsonSchema {
  const parameters = [
    ...parametersOf(route.params, 'path'),
    ...parametersOf(route.query, 'query'),
    ...(route.headers ?? []).map((header) => ({
      name: header.name,
      in: 'header',
      required: header.required ?? false,
      description: header.description,
      schema: jsonSchemaOf(header.schema),
    })),
  ];
  const responses: Record<string, JsonSchema> = {};
  for (const [status, response] of Object.entries(route.responses)) responses[status] = responseOf(response);
  for (const [status, codes] of errorsByStatus([...route.errors, 'INTERNAL'])) {
    if (responses[status]) throw new Error(`${route.method} ${route.path}: ${status} is both an answer and an error`);
    responses[status] = errorResponse(Number(status), codes);
  }
  return {
    operationId: operationId(route),
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    ...(route.tags ? { tags: route.tags } : {}),
    security: route.security ? [{ [route.security]: [] }] : [],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body
      ? {
          requestBody: {
            required: route.bodyRequired ?? true,
            content: { 'application/json': { schema: jsonSchemaOf(route.body) } },
          },
        }
      : {}),
    responses,
  };
}

function parametersOf(schema: z.ZodObject | undefined, where: 'path' | 'query'): JsonSchema[] {
  if (!schema) return [];
  const json = jsonSchemaOf(schema) as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => {
    const { description, ...propertySchema } = property;
    return {
      name,
      in: where,
      required: where === 'path' || (json.required ?? []).includes(name),
      ...(typeof description === 'string' ? { description } : {}),
      schema: propertySchema,
    };
  });
}

function responseOf(response: ResponseDoc): JsonSchema {
  if (response.contentType) {
    return { description: response.description, content: { [response.contentType]: { schema: { type: 'string' } } } };
  }
  const schema = response.jsonSchema ?? (response.schema ? jsonSchemaOf(response.schema) : undefined);
  return {
    description: response.description,
    ...(schema ? { content: { 'application/json': { schema } } } : {}),
  };
}

function errorsByStatus(codes: readonly ErrorCode[]): Map<string, ErrorCode[]> {
  const byStatus = new Map<string, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = String(ERROR_STATUS[code]);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return new Map([...byStatus].sort(([a], [b]) => Number(a) - Number(b)));
}

function errorResponse(status: number, codes: ErrorCode[]): JsonSchema {
  return {
    description: codes.join(', '),
    ...(status === 429 || status === 503
      ? { headers: { 'Retry-After': { description: 'seconds to wait before retrying', schema: { type: 'integer' } } } }
      : {}),
    content: { 'application/json': { schema: jsonSchemaOf(errorBodySchema(codes)) } },
  };
}

/** `POST /topics/{topic}/viewers` → `postTopicsTopicViewers`: unique per method and path. */
function operationId(route: RouteDoc): string {
  const words = route.path
    .split(/[^A-Za-z0-9]+/)
    .filter((word) => word.length > 0)
    .map((word) => word[0]?.toUpperCase() + word.slice(1));
  return route.method + words.join('');
}

import type { z } from 'zod';
import { AppError } from './errors.js';

/** Describes the first problems of a failed parse, naming each field by its path. */
export function describeIssues(error: z.ZodError, root = 'body'): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => {
      const path = issue.path.length > 0 ? `${root}.${issue.path.map(String).join('.')}` : root;
      return `${path}: ${issue.message}`;
    })
    .join('; ');
}

/** Parses `value` with `schema`, or throws a 400 `VALIDATION_FAILED` naming the field. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, root = 'body'): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new AppError('VALIDATION_FAILED', describeIssues(result.error, root));
  return result.data;
}

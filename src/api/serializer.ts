// Answers are serialized through their route's zod response schema (as fastify-type-provider-zod's own serializer
// does), which drops every field the schema does not name. A handler that starts returning a new field while the
// schema lags behind would lose it without a sound; this serializer says so in the log, naming the route and the path
// of each dropped field, so the schema gets completed instead of the field going missing unnoticed.
import type { FastifyBaseLogger, FastifySerializerCompiler } from 'fastify';
import { ResponseSerializationError } from 'fastify-type-provider-zod';
import { z } from 'zod';

/** The paths of the fields `sent` lacks that `given` had (undefined values do not count: JSON leaves them out too). */
export function droppedFields(given: unknown, sent: unknown, at = ''): string[] {
  const found: string[] = [];
  walk(given, sent, at ? [at] : [], found);
  return found;
}

/**
 * droppedFields' walk: a list page is thousands of fields, so it allocates nothing per field and writes a path only for
 * a field that was dropped (`path` is the way down, as `.key` and `[index]` parts).
 */
function walk(given: unknown, sent: unknown, path: string[], found: string[]): void {
  if (Array.isArray(given)) {
    if (!Array.isArray(sent)) return;
    for (let i = 0; i < given.length; i++) {
      const g = given[i];
      if (typeof g !== 'object' || g === null) continue;
      path.push(`[${i}]`);
      walk(g, sent[i], path, found);
      path.pop();
    }
    return;
  }
  if (!isPlainObject(given) || !isPlainObject(sent)) return;
  for (const key in given) {
    if (!Object.prototype.hasOwnProperty.call(given, key)) continue;
    const value = given[key];
    if (value === undefined) continue;
    if (!(key in sent)) {
      found.push(joinPath(path, key));
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    path.push(`.${key}`);
    walk(value, sent[key], path, found);
    path.pop();
  }
}

/** The path of `key` under `path`, as the log has always named it: a[0].b. */
function joinPath(path: string[], key: string): string {
  const out = `${path.join('')}.${key}`;
  return out.startsWith('.') ? out.slice(1) : out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;
}

type Schema = z.ZodType | { properties: z.ZodType };

export function reportingSerializerCompiler(log: FastifyBaseLogger): FastifySerializerCompiler<Schema> {
  return ({ schema: maybeSchema, method, url }) => {
    const schema = maybeSchema instanceof z.ZodType ? maybeSchema : maybeSchema.properties;
    return (data) => {
      const result = z.safeEncode(schema, data);
      if (!result.success) throw new ResponseSerializationError(method, url, { cause: result.error });
      const dropped = droppedFields(data, result.data);
      if (dropped.length) log.warn({ method, route: url, dropped }, 'response fields dropped: the route\'s response schema does not describe them');
      return JSON.stringify(result.data);
    };
  };
}

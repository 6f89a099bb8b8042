// Answers are serialized through their route's zod response schema (as fastify-type-provider-zod's own serializer
// does), which drops every field the schema does not name. A handler that starts returning a new field while the
// schema lags behind would lose it without a sound; this serializer says so in the log, naming the route and the path
// of each dropped field, so the schema gets completed instead of the field going missing unnoticed.
import type { FastifyBaseLogger, FastifySerializerCompiler } from 'fastify';
import { ResponseSerializationError } from 'fastify-type-provider-zod';
import { z } from 'zod';

/** The paths of the fields `sent` lacks that `given` had (undefined values do not count: JSON leaves them out too). */
export function droppedFields(given: unknown, sent: unknown, at = ''): string[] {
  if (Array.isArray(given) && Array.isArray(sent)) return given.flatMap((g, i) => droppedFields(g, sent[i], `${at}[${i}]`));
  if (!isPlainObject(given) || !isPlainObject(sent)) return [];
  return Object.entries(given).flatMap(([key, value]) => {
    const path = at ? `${at}.${key}` : key;
    if (value === undefined) return [];
    return key in sent ? droppedFields(value, sent[key], path) : [path];
  });
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

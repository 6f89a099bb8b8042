// How the OpenAPI document is made from the routes' zod schemas: its header (servers, security, tags) and the
// transforms from zod to JSON Schema. Schemas given an id with `.meta({ id })` become named components (Pipeline,
// Account...), which is what the generated client (src/client) exposes as `components['schemas'][...]`.
import type { SwaggerOptions } from '@fastify/swagger';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { noContent } from './schemas/common';

type Transform = typeof jsonSchemaTransform;

/** What each status means on every route, for answers whose schema does not say it itself (a named component). */
const STATUS_DESCRIPTIONS: Record<string, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted: the work goes on in the background',
  400: 'validation_failed: the request is malformed; `details` name the fields',
  401: 'unauthorized: no API key, or an unknown one',
  404: "not_found: no such resource for this tenant (another tenant's resources are not found either)",
  409: 'conflict: the resource is not in a state that allows this',
  413: 'payload_too_large: the body is over 1 MiB',
  422: 'unprocessable: well-formed but refused (an edit that does not fit, an account that cannot be used...)',
  429: 'rate_limited or backlog_full: try again later (Retry-After)',
  503: 'unavailable: a dependency (PostgreSQL, Temporal) is away; Retry-After says when to try again',
};

/**
 * jsonSchemaTransform, plus: a `noContent` answer is documented as a response without a body (zod has no JSON Schema
 * for "no body"; @fastify/swagger leaves the content out for `type: 'null'`), and every answer gets a description.
 */
const transform: Transform = (input) => {
  const schema = input.schema as { response?: Record<string, unknown> } | undefined;
  const empty = Object.entries(schema?.response ?? {}).filter(([, s]) => s === noContent).map(([code]) => code);
  const response = schema?.response && Object.fromEntries(Object.entries(schema.response).filter(([code]) => !empty.includes(code)));
  const out = jsonSchemaTransform(response ? ({ ...input, schema: { ...schema, response } } as typeof input) : input);
  const outResponse = (out.schema as { response?: Record<string, Record<string, unknown>> } | undefined)?.response;
  if (!outResponse) return out;
  for (const code of empty) outResponse[code] = { type: 'null', description: noContent.description };
  for (const [code, answer] of Object.entries(outResponse)) {
    if (answer.description === undefined && STATUS_DESCRIPTIONS[code]) answer.description = STATUS_DESCRIPTIONS[code];
  }
  return out;
};

type TransformObject = typeof jsonSchemaTransformObject;

/** The component names a part of the document refers to. */
function refsIn(value: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(value)) for (const v of value) refsIn(v, into);
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/')) into.add(v.slice('#/components/schemas/'.length));
      else refsIn(v, into);
    }
  }
  return into;
}

/**
 * jsonSchemaTransformObject adds every named schema twice, as read (`<id>Input`) and as written (`<id>`), whether or
 * not a route reads or writes it; only the components some route refers to (directly or through another component)
 * are kept, so the document and the client do not carry an unused `PipelineInput` twin of `Pipeline`.
 */
const transformObject: TransformObject = (input) => {
  const doc = jsonSchemaTransformObject(input) as { paths?: unknown; components?: { schemas?: Record<string, unknown> } };
  const schemas = doc.components?.schemas;
  if (!schemas) return doc as ReturnType<TransformObject>;
  const used = refsIn(doc.paths, new Set());
  for (let grew = true; grew; ) {
    const before = used.size;
    for (const name of [...used]) refsIn(schemas[name], used);
    grew = used.size > before;
  }
  doc.components!.schemas = Object.fromEntries(Object.entries(schemas).filter(([name]) => used.has(name)));
  return doc as ReturnType<TransformObject>;
};

export const TAGS = [
  { name: 'pipelines', description: 'Topic in, published posts out: start, follow, approve, reschedule, cancel, score.' },
  { name: 'accounts', description: 'Connected social accounts; credentials go in encrypted and never come back out.' },
  { name: 'schedules', description: 'Recurring pipelines on a cron expression or an interval.' },
  { name: 'webhooks', description: 'Signed lifecycle webhooks: subscriptions, their delivery log, redelivery and a test event.' },
  { name: 'review', description: 'Review links: a signed, expiring page where a reviewer without an API key approves or rejects.' },
  { name: 'providers', description: 'Breakers, rate-limit windows and cache use of every provider Herald calls.' },
  { name: 'operations', description: 'What is late or stuck, and why.' },
  { name: 'media', description: 'Images Herald made or fetched, served to the platforms that fetch them by URL.' },
  { name: 'system', description: 'Liveness, readiness and Prometheus metrics.' },
];

export const openapiOptions: SwaggerOptions = {
  openapi: {
    info: { title: 'Herald API', version: '1', description: 'Topic in, published social content out, through durable Temporal workflows.' },
    servers: [
      { url: '/', description: 'the server this document was fetched from' },
      { url: 'http://localhost:3000', description: '`npm start` on this machine (PORT=3000)' },
    ],
    components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'an API key from API_KEYS or `herald keys create`' } } },
    security: [{ apiKey: [] }],
    tags: TAGS,
  },
  transform,
  transformObject,
};

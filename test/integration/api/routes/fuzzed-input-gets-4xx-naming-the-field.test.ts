// Every route, every input: NUL characters, lone surrogates, wrong types and over-long values in every body field,
// path id, query parameter and header get a 4xx in the contract's error shape that names the field; never a 5xx.
//
// Routes are discovered from the API's own OpenAPI document, so a route added later is fuzzed without touching this
// file. The expectations are written here from the contract, not taken from the code under test.
import { connect } from 'node:net';
import { dryRunRequest, startHarness, type Harness } from '../../../helpers/harness';

let h: Harness;
beforeAll(async () => {
  // No worker: nothing here needs a pipeline to run, only the API in front of real PostgreSQL and Temporal.
  h = await startHarness({ withWorker: false });
});
afterAll(async () => {
  await h?.stop();
});

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
interface Res {
  status: number;
  body: any;
}
interface Case {
  /** What is sent, for the failure list. */
  what: string;
  send: () => Promise<Res>;
  /** Allowed statuses (default: exactly 400). */
  statuses?: number[];
  /** The field the error must name: a `details[].path` equal to one of these (or starting with it, for objects). */
  names?: string[];
  /** The field may be named by a path starting with `names` (an object whose inner key was bad). */
  prefix?: boolean;
}

const ONE_DAY = 86_400_000;
const future = () => new Date(Date.now() + ONE_DAY).toISOString();

// --- talking to the API -------------------------------------------------------------------------------------------

let sent = 0;

async function call(method: string, path: string, opts: { body?: unknown; raw?: string; headers?: Record<string, string>; key?: string | null } = {}): Promise<Res> {
  sent++;
  const headers: Record<string, string> = { ...opts.headers };
  const key = opts.key === undefined ? h.keys.a : opts.key;
  if (key) headers.authorization = `Bearer ${key}`;
  let payload = opts.raw;
  if (opts.body !== undefined && payload === undefined) payload = JSON.stringify(opts.body);
  if (payload !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  const res = await fetch(`${h.baseUrl}${path}`, { method, headers, body: payload });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: the shape check reports it
  }
  return { status: res.status, body };
}

/** Bytes straight onto a socket, for what fetch refuses to send (NUL in a header, broken request lines). */
function rawHttp(bytes: Buffer | string): Promise<Res> {
  sent++;
  const port = Number(new URL(h.baseUrl).port);
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      const rest = text.slice(text.indexOf('\r\n\r\n') + 4);
      let body: unknown = rest;
      try {
        body = JSON.parse(rest);
      } catch {
        // chunked or not JSON: the shape check reports it
      }
      resolve({ status, body });
    });
    socket.setTimeout(20_000, () => socket.destroy(new Error('no answer within 20 s')));
    socket.end(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  });
}

/** Problems with one answer, empty when it is what the contract promises. */
function judge(c: Case, res: Res): string[] {
  const problems: string[] = [];
  const allowed = c.statuses ?? [400];
  if (res.status >= 500 || !allowed.includes(res.status)) problems.push(`status ${res.status}, expected ${allowed.join('|')}`);
  if (res.status >= 400) {
    const e = res.body?.error;
    const keys = res.body && typeof res.body === 'object' ? Object.keys(res.body) : [];
    const shaped =
      keys.length === 1 &&
      e &&
      typeof e.code === 'string' &&
      typeof e.message === 'string' &&
      e.message.length > 0 &&
      Array.isArray(e.details) &&
      Object.keys(e).sort().join() === 'code,details,message';
    if (!shaped) problems.push(`not the contract's error shape: ${JSON.stringify(res.body).slice(0, 200)}`);
    else if (res.status === 400 && e.code !== 'validation_failed') problems.push(`code ${e.code}, expected validation_failed`);
    if (shaped && c.names && res.status === 400) {
      const paths: string[] = e.details.map((d: any) => d?.path).filter((p: unknown) => typeof p === 'string');
      const named = paths.some((p) => c.names!.some((n) => p === n || (c.prefix && p.startsWith(`${n}.`))));
      if (!named) problems.push(`details do not name ${c.names.join(' or ')}: ${JSON.stringify(e.details).slice(0, 300)}`);
    }
  }
  return problems;
}

/** Runs cases a few at a time and returns every failure. */
async function runAll(cases: Case[], concurrency = 6): Promise<string[]> {
  const failures: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < cases.length) {
        const c = cases[next++];
        let res: Res;
        try {
          res = await c.send();
        } catch (err) {
          failures.push(`${c.what}: request failed: ${(err as Error).message}`);
          continue;
        }
        for (const p of judge(c, res)) failures.push(`${c.what}: ${p}`);
      }
    }),
  );
  return failures;
}

// --- what the OpenAPI document says -------------------------------------------------------------------------------

interface Operation {
  method: string;
  path: string;
  params: { name: string; in: string; schema: any }[];
  body?: any;
  /** Anything but the media route and the review pages needs a key. */
  authed: boolean;
}

function operations(doc: any): Operation[] {
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(methods)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      ops.push({
        method: method.toUpperCase(),
        path,
        params: op.parameters ?? [],
        body: op.requestBody?.content?.['application/json']?.schema,
        // The document marks the routes that need no key (the reviewer's pages) with an empty security list.
        authed: !path.startsWith('/v1/media/') && !(Array.isArray(op.security) && op.security.length === 0),
      });
    }
  }
  return ops;
}

const resolveRef = (doc: any, s: any): any => (s && typeof s.$ref === 'string' ? resolveRef(doc, s.$ref.split('/').slice(1).reduce((o: any, k: string) => o[k], doc)) : s);

/** A value of the schema's type: every optional property present, so every field gets fuzzed. */
function sample(doc: any, raw: any): Json {
  const s = resolveRef(doc, raw) ?? {};
  if (s.enum) return s.enum[0];
  if (s.anyOf || s.oneOf) return sample(doc, (s.anyOf ?? s.oneOf).find((x: any) => resolveRef(doc, x).type !== 'null'));
  switch (s.type) {
    case 'object': {
      const out: Record<string, Json> = {};
      for (const [k, v] of Object.entries<any>(s.properties ?? {})) out[k] = sample(doc, v);
      if (!s.properties && s.additionalProperties !== false) out.someKey = sample(doc, s.additionalProperties === true ? {} : s.additionalProperties);
      return out;
    }
    case 'array':
      return Array.from({ length: Math.max(1, s.minItems ?? 1) }, () => sample(doc, s.items));
    case 'string':
      if (s.format === 'date-time') return future();
      if (s.pattern && /ms\|s\|m\|h\|d/.test(s.pattern)) return '1h';
      return 'x'.repeat(Math.max(1, s.minLength ?? 1));
    case 'integer':
    case 'number':
      return s.minimum ?? 1;
    case 'boolean':
      return true;
    default:
      return 'anything';
  }
}

/**
 * Route by route, what turns the generic sample into a request the route accepts, so a 400 can only come from the
 * one field a case spoils. A route with a body that is not listed keeps the generic sample.
 */
const fixups: Record<string, (b: any) => any[]> = {
  'POST /v1/pipelines': (b) => [fixPipeline(b, true)],
  'POST /v1/schedules': (b) => {
    const pipeline = fixPipeline(b.pipeline, false);
    const common = { ...b, timezone: 'Europe/Berlin', pipeline };
    const { cron: _c, ...every } = { ...common, every: '1h' };
    const { every: _e, ...cron } = { ...common, cron: '0 9 * * MON-FRI' };
    return [every, cron];
  },
  // A host that never resolves: accepted at creation (checked at delivery), where a private address would be 422.
  'POST /v1/webhooks': (b) => [{ ...b, url: 'https://hooks.example.invalid/in' }],
  'POST /v1/accounts': (b) => [{ ...b, platform: 'webhook', credentials: { url: 'http://127.0.0.1:9/hook', token: 'secret' }, settings: { note: 'n', nested: { deeper: 'd' } } }],
  'POST /v1/pipelines/{id}/approve': (b) => [{ ...b, edits: { ...b.edits, variants: { x: 'variant text' } } }],
  // Either the JSON shape ({edits}, as /approve) or the page's form fields, never both in one body.
  'POST /review/{token}/approve': (b) => [{ edits: { ...b.edits, variants: { x: 'variant text' } } }, { title: b.title, body: b.body, 'variants.x': 'variant text' }],
  'PUT /v1/pipelines/{id}/publish-at': (b) => [{ ...b, publishAt: future() }],
  'POST /v1/pipelines/{id}/feedback': (b) => [{ ...b, score: 7 }],
  // A pipeline request (topic) or exact content (with a platform's own text), never both in one body.
  'POST /v1/validate': (b) => {
    const { content, variants: _v, ...request } = fixPipeline(b, true);
    const { topic: _t, ...rest } = request;
    return [request, { ...rest, content, variants: { x: 'variant text' } }];
  },
};
function fixPipeline(b: any, withPublishAt: boolean) {
  const out = {
    ...b,
    dryRun: true,
    targets: [{ platform: 'x', accountId: 'acc_fuzz' }],
    image: { ...b.image, sources: ['card'] },
    approval: { ...b.approval, timeout: '1h' },
  };
  if (withPublishAt) out.publishAt = future();
  else delete out.publishAt;
  return out;
}

// --- what to send -------------------------------------------------------------------------------------------------

const UNSTORABLE: [string, string][] = [
  ['a NUL', 'a\u0000b'],
  ['only a NUL', '\u0000'],
  ['a lone high surrogate', 'a\ud800b'],
  ['a lone low surrogate', 'a\udc00b'],
  ['a high surrogate at the end', 'ok \ud83d'],
];

/** Leaves and inner nodes of a body with the schema that describes each. */
function walk(doc: any, schema: any, value: any, path: string[] = []): { path: string[]; schema: any; value: any }[] {
  const s = resolveRef(doc, schema) ?? {};
  const out = [{ path, schema: s, value }];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...walk(doc, s.items, v, [...path, String(i)])));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const sub = s.properties?.[k] ?? (typeof s.additionalProperties === 'object' ? s.additionalProperties : {});
      out.push(...walk(doc, sub, v, [...path, k]));
    }
  }
  return out;
}

function setAt(root: any, path: string[], value: unknown): any {
  const copy = structuredClone(root);
  if (!path.length) return value;
  let node = copy;
  for (const k of path.slice(0, -1)) node = node[k];
  node[path[path.length - 1]] = value;
  return copy;
}

function bodyCases(doc: any, op: Operation, base: any, idPath: string): Case[] {
  const cases: Case[] = [];
  const url = op.path.replace(/\{[^}]+\}/g, idPath);
  const send = (body: unknown) => () => call(op.method, url, { body });
  for (const node of walk(doc, op.body, base)) {
    const name = node.path.join('.');
    const label = `${op.method} ${op.path} body ${name || '(root)'}`;
    const anything = !node.schema.type && !node.schema.enum && !node.schema.anyOf && !node.schema.oneOf;
    const t = node.schema.type ?? (anything ? 'any' : typeof node.value);
    const wrong = (values: [string, unknown][]) => {
      for (const [what, v] of values) cases.push({ what: `${label} = ${what}`, send: send(setAt(base, node.path, v)), names: [name], prefix: true });
    };
    if (typeof node.value === 'string' || t === 'string' || t === 'any') {
      for (const [what, text] of UNSTORABLE) cases.push({ what: `${label} with ${what}`, send: send(setAt(base, node.path, text)), names: [name] });
    }
    if (!node.path.length) {
      // The body itself of a wrong type: no field to name.
      for (const v of [[], 'text', 42, null]) cases.push({ what: `${label} = ${JSON.stringify(v)}`, send: send(v), statuses: [400] });
      continue;
    }
    if (t === 'any') continue; // any JSON is acceptable here (credentials and settings values)
    if (t === 'string') {
      wrong([['a number', 42], ['true', true], ['null', null], ['an array', ['x']], ['an object', { a: 'x' }]]);
      if (typeof node.schema.maxLength === 'number') wrong([[`${node.schema.maxLength + 1} characters`, 'y'.repeat(node.schema.maxLength + 1)]]);
    } else if (t === 'integer' || t === 'number') {
      wrong([['a string', '5'], ['true', true], ['null', null], ['an array', [5]], ['an object', { n: 5 }], ['a huge number', 1e308]]);
      if (t === 'integer') wrong([['a fraction', 1.5]]);
    } else if (t === 'boolean') {
      wrong([['a string', 'true'], ['a number', 1], ['null', null], ['an array', [true]], ['an object', { b: true }]]);
    } else if (t === 'object') {
      wrong([['a string', 'x'], ['a number', 42], ['null', null], ['an array', []]]);
      // A key PostgreSQL cannot store (jsonb): named by the object and the key.
      for (const [what, text] of UNSTORABLE.slice(0, 3)) {
        cases.push({ what: `${label} with a key holding ${what}`, send: send(setAt(base, node.path, { ...node.value, [text]: 'v' })), names: [name], prefix: true });
      }
    } else if (t === 'array') {
      wrong([['a string', 'x'], ['a number', 42], ['null', null], ['an object', {}]]);
    }
  }
  return cases;
}

function paramCases(op: Operation, validBody: unknown): Case[] {
  const cases: Case[] = [];
  const pathParams = op.params.filter((p) => p.in === 'path');
  const fill = (values: Record<string, string>) => op.path.replace(/\{([^}]+)\}/g, (_m, n: string) => values[n] ?? 'zz_does_not_exist_0000');
  // Bodies are not what is tested here: a valid one keeps the route from complaining about it instead.
  const withBody = op.body ? { body: validBody } : {};
  for (const p of pathParams) {
    const name = `params.${p.name}`;
    const max = typeof p.schema?.maxLength === 'number' ? p.schema.maxLength : 100;
    const variants: [string, string, string[]][] = [
      ['%00', '%00', [name]],
      ['a%00b', 'a%00b', [name]],
      ['a lone surrogate as UTF-8 bytes (%ED%A0%80)', '%ED%A0%80', [name, 'url']],
      ['an overlong NUL (%C0%80)', '%C0%80', [name, 'url']],
      ['a bad %-escape (%ZZ)', 'a%ZZb', [name, 'url']],
      ['a truncated %-escape', 'abc%E', [name, 'url']],
      [`${max + 1} characters`, 'y'.repeat(max + 1), [name]],
      ['2000 characters', 'y'.repeat(2000), [name]],
      ['9000 characters', 'y'.repeat(9000), [name, 'params']],
    ];
    for (const [what, value, names] of variants) {
      cases.push({ what: `${op.method} ${op.path} ${name} = ${what}`, send: () => call(op.method, fill({ [p.name]: value }), withBody), names });
    }
    // Harmless but odd ids: an emoji, a space, a dot segment: never a 5xx.
    for (const value of ['%F0%9F%98%80', 'a%20b', '..', 'caf%C3%A9']) {
      // The client resolves a dot segment before sending: /review/.. asks for / (the console's page), so 200 is right.
      const statuses = value === '..' && !op.path.startsWith('/v1/') && op.method === 'GET' ? [200, 400, 404] : [400, 404];
      cases.push({ what: `${op.method} ${op.path} ${name} = ${value}`, send: () => call(op.method, fill({ [p.name]: value }), withBody), statuses });
    }
  }
  const base = fill({});
  for (const p of op.params.filter((x) => x.in === 'query')) {
    const name = `querystring.${p.name}`;
    const s = p.schema ?? {};
    const variants: [string, string][] = [
      ['%00', '%00'],
      ['a%00b', 'a%00b'],
      ['a lone surrogate as UTF-8 bytes', '%ED%A0%80'],
      ['a bad %-escape', '%ZZ'],
    ];
    if (s.enum || s.type === 'integer' || s.type === 'number') variants.push(['a number', '12345'], ['true', 'true']);
    if (s.type === 'integer' || s.type === 'number') variants.push(['a word', 'abc'], ['a fraction', '1.5'], ['a negative', '-1'], ['a huge number', '1e400'], ['an empty value', '']);
    if (typeof s.maxLength === 'number') variants.push([`${s.maxLength + 1} characters`, 'y'.repeat(s.maxLength + 1)]);
    if (s.maximum !== undefined) variants.push(['above the maximum', String(s.maximum + 1)]);
    for (const [what, value] of variants) {
      cases.push({ what: `${op.method} ${op.path} ?${p.name} = ${what}`, send: () => call(op.method, `${base}?${p.name}=${value}`, withBody), names: [name] });
    }
    cases.push({ what: `${op.method} ${op.path} ?${p.name} twice (an array)`, send: () => call(op.method, `${base}?${p.name}=a&${p.name}=b`, withBody), names: [name] });
  }
  // An unknown query parameter holding a NUL: never a 5xx, and named.
  cases.push({ what: `${op.method} ${op.path} ?bogus = a NUL`, send: () => call(op.method, `${base}?bogus=a%00b`, withBody), names: ['querystring.bogus'] });
  cases.push({ what: `${op.method} ${op.path} a NUL in a query parameter's name`, send: () => call(op.method, `${base}?a%00b=1`, withBody), names: ['querystring'], prefix: true });
  cases.push({ what: `${op.method} ${op.path} a NUL in an unknown header`, send: () => rawHttp(`${op.method} ${base} HTTP/1.1\r\nHost: x\r\nX-Anything: a\u0000b\r\nConnection: close\r\n\r\n`) });
  for (const p of op.params.filter((x) => x.in === 'header')) {
    const name = `headers.${p.name}`;
    const s = p.schema ?? {};
    if (typeof s.maxLength === 'number') {
      cases.push({ what: `${op.method} ${op.path} header ${p.name} too long`, send: () => call(op.method, base, { ...withBody, headers: { [p.name]: 'k'.repeat(s.maxLength + 1) } }), names: [name] });
    }
    if (s.minLength) cases.push({ what: `${op.method} ${op.path} header ${p.name} empty`, send: () => call(op.method, base, { ...withBody, headers: { [p.name]: '' } }), names: [name] });
    // fetch will not send these; Node's HTTP parser refuses them before any route (400 in the contract's shape).
    for (const [what, bytes] of [['a NUL', 'a\u0000b'], ['a control character', 'a\u0001b'], ['a bare CR', 'a\rb']]) {
      cases.push({ what: `${op.method} ${op.path} header ${p.name} with ${what}`, send: () => rawHttp(`${op.method} ${base} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${h.keys.a}\r\n${p.name}: ${bytes}\r\nConnection: close\r\n\r\n`) });
    }
  }
  if (op.authed) {
    cases.push({ what: `${op.method} ${op.path} Authorization with a NUL`, send: () => rawHttp(`${op.method} ${base} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\u0000b\r\nConnection: close\r\n\r\n`) });
    cases.push({ what: `${op.method} ${op.path} Authorization with high bytes`, send: () => rawHttp(`${op.method} ${base} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \u00ed\u00a0\u0080\u00ff\r\nConnection: close\r\n\r\n`), statuses: [401] });
    cases.push({ what: `${op.method} ${op.path} a 10 000-character key`, send: () => call(op.method, base, { ...withBody, key: 'k'.repeat(10_000) }), statuses: [401] });
  }
  if (op.body) {
    cases.push({ what: `${op.method} ${op.path} body not JSON`, send: () => call(op.method, base, { raw: '{"a": ' }) });
    cases.push({ what: `${op.method} ${op.path} body with a raw NUL byte`, send: () => call(op.method, base, { raw: '{"a": "x\u0000y"}' }) });
    cases.push({ what: `${op.method} ${op.path} body as XML`, send: () => call(op.method, base, { raw: '<a/>', headers: { 'content-type': 'application/xml' } }), statuses: [415] });
    // Fastify parses text/plain into a string: the route's schema refuses it.
    cases.push({ what: `${op.method} ${op.path} body as text/plain`, send: () => call(op.method, base, { raw: 'hello', headers: { 'content-type': 'text/plain' } }) });
    cases.push({ what: `${op.method} ${op.path} body nested 200 deep`, send: () => call(op.method, base, { raw: `{"x": ${'['.repeat(200)}${']'.repeat(200)}}` }), names: ['x'], prefix: true });
    cases.push({ what: `${op.method} ${op.path} body nested 100 000 deep`, send: () => call(op.method, base, { raw: `{"x": ${'['.repeat(100_000)}${']'.repeat(100_000)}}` }), statuses: [400, 413] });
    cases.push({ what: `${op.method} ${op.path} a 2 MiB body`, send: () => call(op.method, base, { raw: JSON.stringify({ x: 'x'.repeat(2 * 1024 * 1024) }) }), statuses: [413] });
  }
  return cases;
}

const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

// --- the tests ----------------------------------------------------------------------------------------------------

describe('no input is a 5xx; every error is in the contract shape and names the field', () => {
  let doc: any;
  let ops: Operation[];
  beforeAll(async () => {
    const res = await call('GET', '/openapi.json', { key: null });
    expect(res.status).toBe(200);
    doc = res.body;
    ops = operations(doc);
  });

  it('discovers the routes from the OpenAPI document', () => {
    // The routes this file was written against must be among them (a broken discovery must not pass quietly).
    const seen = new Set(ops.map((o) => `${o.method} ${o.path}`));
    for (const r of ['POST /v1/pipelines', 'GET /v1/pipelines', 'GET /v1/pipelines/{id}', 'POST /v1/pipelines/{id}/approve', 'POST /v1/pipelines/{id}/feedback', 'POST /v1/accounts', 'DELETE /v1/accounts/{id}', 'POST /v1/schedules', 'POST /v1/schedules/{id}/pause', 'GET /v1/media/{id}']) {
      expect(seen).toContain(r);
    }
    expect(ops.length).toBeGreaterThanOrEqual(20);
  });

  it('every body field, path id, query parameter and header of every route', async () => {
    const cases: Case[] = [];
    const perRoute = new Map<string, number>();
    for (const op of ops) {
      const key = `${op.method} ${op.path}`;
      const n0 = cases.length;
      const bases = op.body ? (fixups[key]?.(sample(doc, op.body)) ?? [sample(doc, op.body)]) : [];
      cases.push(...paramCases(op, bases[0]));
      for (const base of bases) cases.push(...bodyCases(doc, op, base, 'zz_does_not_exist_0000'));
      perRoute.set(key, cases.length - n0);
    }
    // Control: each unspoiled body is accepted (2xx, or 404 for the made-up id), so every 400 below comes from the one
    // field a case spoils.
    for (const op of ops.filter((o) => o.body)) {
      const key = `${op.method} ${op.path}`;
      for (const base of fixups[key]?.(sample(doc, op.body)) ?? [sample(doc, op.body)]) {
        const res = await call(op.method, op.path.replace(/\{[^}]+\}/g, 'zz_does_not_exist_0000'), { body: base });
        const ok = op.path.includes('{') ? res.status === 404 : res.status >= 200 && res.status < 300;
        expect([key, res.status, ok ? 'accepted' : JSON.stringify(res.body).slice(0, 300)]).toEqual([key, res.status, 'accepted']);
        if (key === 'POST /v1/schedules') expect((await call('DELETE', `/v1/schedules/${res.body.id}`)).status).toBe(204);
      }
    }
    const started = Date.now();
    const before = sent;
    const logsBefore = h.logs.length;
    const failures = await runAll(cases);
    console.log(`input fuzz: ${cases.length} requests over ${perRoute.size} routes in ${((Date.now() - started) / 1000).toFixed(1)} s, ${failures.length} failures`);
    expect(failures).toEqual([]);
    // Nothing reached the catch-all (it logs 'unhandled error') or PostgreSQL's refusal (the safety net logs that).
    const logged = h.logs.slice(logsBefore).filter((l) => /unhandled error|PostgreSQL refused a value/.test(l));
    expect(logged.map((l) => l.slice(0, 300))).toEqual([]);
    // Every route got its share, and the whole run is large: it cannot pass by sending nothing.
    // A route with no input and no key (/health, /ready, /metrics) gets only the three cases every route gets.
    for (const op of ops) {
      const route = `${op.method} ${op.path}`;
      const least = op.authed || op.params.length > 0 || op.body ? 5 : 3;
      expect([route, perRoute.get(route)! >= least]).toEqual([route, true]);
    }
    expect(sent - before).toBe(cases.length);
    expect(cases.length).toBeGreaterThan(1000);
  });

  it('a NUL in every string field of a pipeline request is refused naming that field (and nothing is stored)', async () => {
    const { rows: before } = await h.pool.query('SELECT count(*)::int AS n FROM pipelines WHERE tenant_id = $1', [h.tenants.a]);
    for (const field of ['topic', 'brief', 'voice', 'audience']) {
      const res = await call('POST', '/v1/pipelines', { body: dryRunRequest({ [field]: 'before\u0000after' }) });
      expect([res.status, res.body.error.code, res.body.error.message]).toEqual([400, 'validation_failed', expect.stringContaining(field)]);
      expect(res.body.error.details).toContainEqual({ path: field, message: expect.stringMatching(/NUL/) });
    }
    const surrogate = await call('POST', '/v1/pipelines', { body: dryRunRequest({ image: { mode: 'auto', style: 'x\udfffy' } }) });
    expect(surrogate.status).toBe(400);
    expect(surrogate.body.error.details).toContainEqual({ path: 'image.style', message: expect.stringMatching(/surrogate/) });
    const { rows: after } = await h.pool.query('SELECT count(*)::int AS n FROM pipelines WHERE tenant_id = $1', [h.tenants.a]);
    expect(after[0].n).toBe(before[0].n);
  });

  it('ids: %00, a bad %-escape and a 2000-character id are 400s in the contract shape', async () => {
    const cases: Case[] = [
      { what: 'GET /v1/pipelines/a%00b', send: () => call('GET', '/v1/pipelines/a%00b'), names: ['params.id'] },
      { what: 'GET /v1/accounts/a%00b', send: () => call('GET', '/v1/accounts/a%00b'), names: ['params.id'] },
      { what: 'POST /v1/schedules/a%00b/pause', send: () => call('POST', '/v1/schedules/a%00b/pause'), names: ['params.id'] },
      { what: 'GET /v1/pipelines/%ZZ', send: () => call('GET', '/v1/pipelines/%ZZ'), names: ['url'] },
      { what: 'GET /v1/%ZZ/x (no route either)', send: () => call('GET', '/v1/%ZZ/x'), statuses: [400, 404] },
      { what: 'GET /v1/pipelines/<2000 chars>', send: () => call('GET', `/v1/pipelines/${'p'.repeat(2000)}`), names: ['params.id'] },
      { what: 'GET /v1/media/<2000 chars>', send: () => call('GET', `/v1/media/${'m'.repeat(2000)}`, { key: null }), names: ['params.id'] },
    ];
    expect(await runAll(cases)).toEqual([]);
    const res = await call('GET', '/v1/pipelines/%ZZ');
    expect(res.body.error.code).toBe('validation_failed');
    expect(JSON.stringify(res.body)).not.toMatch(/FST_ERR/);
  });

  it('cursors: year 0000, garbage, forged dates and ids are 400; a real cursor still pages', async () => {
    const bad: [string, string][] = [
      ['year 0000', cursorOf(['0000-01-01T00:00:00.000Z', 'pl_x'])],
      ['year 0000 without millis', cursorOf(['0000-06-01T00:00:00Z', 'pl_x'])],
      ['garbage', 'not-a-cursor'],
      ['base64 of garbage', Buffer.from('\u0000\u0001\u0002garbage').toString('base64url')],
      ['a date V8 accepts and PostgreSQL does not', cursorOf(['1', 'pl_x'])],
      ['month 13', cursorOf(['2026-13-01T00:00:00.000Z', 'pl_x'])],
      ['February 30', cursorOf(['2026-02-30T00:00:00.000Z', 'pl_x'])],
      ['year 275760', cursorOf(['+275760-09-13T00:00:00.000Z', 'pl_x'])],
      ['a NUL in the id', cursorOf([new Date().toISOString(), 'pl_\u0000'])],
      ['a lone surrogate in the id', cursorOf([new Date().toISOString(), 'pl_\ud800'])],
      ['a number for the id', cursorOf([new Date().toISOString(), 42])],
      ['an object', cursorOf({ createdAt: new Date().toISOString(), id: 'pl_x' })],
      ['three items', cursorOf([new Date().toISOString(), 'pl_x', 'extra'])],
      ['an empty id', cursorOf([new Date().toISOString(), ''])],
      ['a NUL', '%00'],
    ];
    const failures = await runAll(bad.map(([what, cursor]) => ({ what: `cursor: ${what}`, send: () => call('GET', `/v1/pipelines?cursor=${cursor}`), names: ['querystring.cursor'] })));
    expect(failures).toEqual([]);

    // A real cursor from a real page still works: the checks are not stricter than what the API hands out.
    for (let i = 0; i < 3; i++) expect((await call('POST', '/v1/pipelines', { body: dryRunRequest({ topic: `cursor page ${i}` }), key: h.keys.b })).status).toBe(202);
    const first = await call('GET', '/v1/pipelines?limit=2', { key: h.keys.b });
    expect(first.status).toBe(200);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await call('GET', `/v1/pipelines?limit=2&cursor=${first.body.nextCursor}`, { key: h.keys.b });
    expect(second.status).toBe(200);
    expect(second.body.items.length).toBeGreaterThanOrEqual(1);
    const ids = [...first.body.items, ...second.body.items].map((p: any) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('date-times PostgreSQL cannot store are 400s naming the field', async () => {
    const account = (expiresAt: string) => ({ platform: 'webhook', handle: 'h', credentials: { url: 'http://127.0.0.1:9/hook' }, expiresAt });
    const cases: Case[] = [
      ['0000-01-01T00:00:00Z', 'year 0000'],
      ['0000-12-31T23:59:59.999+01:00', 'year 0000 with an offset'],
      ['2030-01-01T00:00:00-23:59', 'a zone offset of 23:59'],
      ['2030-01-01T00:00:00+16:00', 'a zone offset of 16:00'],
    ].map(([value, what]) => ({ what: `account expiresAt ${what}`, send: () => call('POST', '/v1/accounts', { body: account(value) }), names: ['expiresAt'] }));
    cases.push({ what: 'publishAt in year 0000', send: () => call('POST', '/v1/pipelines', { body: dryRunRequest({ publishAt: '0000-01-01T00:00:00Z' }) }), names: ['publishAt'] });
    cases.push({ what: 'reschedule to year 0000', send: () => call('PUT', '/v1/pipelines/pl_nope/publish-at', { body: { publishAt: '0000-01-01T00:00:00Z' } }), names: ['publishAt'] });
    expect(await runAll(cases)).toEqual([]);
    // The edges that PostgreSQL takes are still accepted.
    const ok = await call('POST', '/v1/accounts', { body: account('9999-12-31T23:59:59+15:59') });
    expect(ok.status).toBe(201);
    expect(ok.body.expiresAt).toBe('9999-12-31T08:00:59.000Z');
  });

  it("Fastify's own errors leave in the contract shape with the right 4xx", async () => {
    const cases: Case[] = [
      { what: 'unknown route', send: () => call('GET', '/v1/nothing-here'), statuses: [404] },
      { what: 'unknown method on a known path', send: () => call('PATCH', '/v1/pipelines/pl_x', { body: {} }), statuses: [404] },
      { what: 'bad content type', send: () => call('POST', '/v1/pipelines', { raw: 'topic=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), statuses: [415] },
      { what: 'body too large', send: () => call('POST', '/v1/pipelines', { raw: JSON.stringify({ ...dryRunRequest(), brief: 'x'.repeat(2 * 1024 * 1024) }) }), statuses: [413] },
      { what: 'invalid JSON', send: () => call('POST', '/v1/pipelines', { raw: '{"topic": "x", ' }) },
      { what: 'empty JSON body', send: () => call('POST', '/v1/pipelines', { raw: '' , headers: { 'content-type': 'application/json' } }) },
      { what: '__proto__ in JSON', send: () => call('POST', '/v1/pipelines', { raw: '{"__proto__": {"x": 1}, "topic": "t"}' }) },
      { what: 'a malformed request line', send: () => rawHttp('GARBAGE\r\n\r\n') },
      { what: 'a NUL in the request target', send: () => rawHttp(`GET /v1/pipelines/a\u0000b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`) },
      { what: 'a header without a colon', send: () => rawHttp(`GET /v1/pipelines HTTP/1.1\r\nHost: x\r\nnot a header\r\nConnection: close\r\n\r\n`) },
      { what: 'a bad Content-Length', send: () => rawHttp(`POST /v1/pipelines HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\nConnection: close\r\n\r\n`) },
      { what: 'headers over 16 KiB', send: () => rawHttp(`GET /v1/pipelines HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\nConnection: close\r\n\r\n`), statuses: [431] },
      { what: 'a URL over 16 KiB', send: () => rawHttp(`GET /v1/pipelines/${'u'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`), statuses: [431] },
    ];
    expect(await runAll(cases)).toEqual([]);
  });
});

describe('valid Unicode is stored and returned intact', () => {
  const texts = {
    topic: 'Café Zürich 🚀 — 東京の天気は晴れです',
    brief: 'Ünïcödé: 😀👍🏽👨‍👩‍👧 𝔘𝔫𝔦𝔠𝔬𝔡𝔢, 日本語のテキスト, العربية, emoji at the end 🎉',
    voice: 'naïve café tone ☕',
    audience: 'Zürich & 大阪',
  };

  it('a pipeline request, an account and feedback keep every character, in the API and in PostgreSQL', async () => {
    const created = await call('POST', '/v1/pipelines', { body: dryRunRequest(texts) });
    expect(created.status).toBe(202);
    const shown = await call('GET', `/v1/pipelines/${created.body.id}`);
    expect(shown.status).toBe(200);
    for (const [k, v] of Object.entries(texts)) expect(shown.body.request[k]).toBe(v);
    // Read back from the database itself, not through the API.
    const { rows } = await h.pool.query<{ request: any }>('SELECT request FROM pipelines WHERE id = $1', [created.body.id]);
    for (const [k, v] of Object.entries(texts)) expect(rows[0].request[k]).toBe(v);

    const comment = 'Très bien 👏 素晴らしい';
    const fb = await call('POST', `/v1/pipelines/${created.body.id}/feedback`, { body: { score: 9, comment } });
    expect([fb.status, fb.body.comment]).toEqual([201, comment]);
    const { rows: fbRows } = await h.pool.query<{ comment: string }>('SELECT comment FROM feedback WHERE id = $1', [fb.body.id]);
    expect(fbRows[0].comment).toBe(comment);

    const handle = 'Café Zürich 🏔️';
    const settings = { note: '日本語 🎉', 'clé 🔑': 'valeur' };
    const acc = await call('POST', '/v1/accounts', { body: { platform: 'webhook', handle, credentials: { url: 'http://127.0.0.1:9/hook' }, settings } });
    expect(acc.status).toBe(201);
    const got = await call('GET', `/v1/accounts/${acc.body.id}`);
    expect([got.body.handle, got.body.settings]).toEqual([handle, settings]);
    const { rows: accRows } = await h.pool.query<{ handle: string; settings: any }>('SELECT handle, settings FROM accounts WHERE id = $1', [acc.body.id]);
    expect([accRows[0].handle, accRows[0].settings]).toEqual([handle, settings]);
  });

  it('an emoji in an id is a plain 404, not a refusal', async () => {
    const res = await call('GET', `/v1/pipelines/${encodeURIComponent('pl_😀')}`);
    expect([res.status, res.body.error.code]).toEqual([404, 'not_found']);
  });
});

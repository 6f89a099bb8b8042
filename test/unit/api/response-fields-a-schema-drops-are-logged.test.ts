// A field the response schema does not describe is dropped from the answer (the schema is the contract), and the log
// names the route and every dropped path; an answer that does not fit its schema is a 500, as before. Over real HTTP
// on 127.0.0.1 (Fastify's inject() loads an ESM-only module Jest's CommonJS sandbox cannot).
import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import pino from 'pino';
import { z } from 'zod';
import { droppedFields, reportingSerializerCompiler } from '../../../src/api/serializer';

async function appWith(answer: unknown) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString('utf8')));
      done();
    },
  });
  const app = Fastify({ loggerInstance: pino({ level: 'warn' }, sink) }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(reportingSerializerCompiler(app.log));
  const schema = z.object({ a: z.number(), nested: z.object({ b: z.number() }), list: z.array(z.object({ x: z.number() })) });
  app.get('/thing', { schema: { response: { 200: schema } } }, async () => answer as z.infer<typeof schema>);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/thing`;
  return { app, lines, get: () => fetch(url) };
}

it('drops undescribed fields from the answer and logs each path with the route', async () => {
  const { app, lines, get } = await appWith({ a: 1, extra: 'x', nested: { b: 2, c: 3 }, list: [{ x: 1 }, { x: 2, y: 3 }], gone: undefined });
  const res = await get();
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ a: 1, nested: { b: 2 }, list: [{ x: 1 }, { x: 2 }] });
  const warned = lines.filter((l) => l.dropped);
  expect(warned).toEqual([expect.objectContaining({ method: 'GET', route: '/thing', dropped: ['extra', 'nested.c', 'list[1].y'] })]);
  await app.close();
});

it('logs nothing when the answer is exactly what the schema describes', async () => {
  const { app, lines, get } = await appWith({ a: 1, nested: { b: 2 }, list: [] });
  expect((await get()).status).toBe(200);
  expect(lines).toEqual([]);
  await app.close();
});

it('answers 500 when the answer does not fit its schema', async () => {
  const { app, get } = await appWith({ a: 'one', nested: { b: 2 }, list: [] });
  expect((await get()).status).toBe(500);
  await app.close();
});

it('droppedFields compares plain objects and arrays only', () => {
  expect(droppedFields({ a: { b: 1 } }, { a: {} })).toEqual(['a.b']);
  expect(droppedFields([{ a: 1 }], [{}])).toEqual(['[0].a']);
  expect(droppedFields({ when: new Date(0) }, { when: '1970-01-01T00:00:00.000Z' })).toEqual([]);
  expect(droppedFields('text', 'text')).toEqual([]);
});

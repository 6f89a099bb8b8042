import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';

/** Where scripts/build-console.mjs writes the console (beside the sources, whatever DATA_DIR says). */
export const CONSOLE_DIR = path.resolve(__dirname, '..', '..', '..', '.data', 'console');

/**
 * The page runs only its own bundle and stylesheet and talks only to this origin. Images may come from elsewhere
 * (a pipeline's stock photos); nothing may frame the page (the API key is typed into it).
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob: https:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};
// Built names only (app-<hash>.js): no path separators, no dot files, nothing but what the build writes.
const ASSET_NAME = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9]+)+$/;

const NOT_BUILT =
  'The Herald console is not built. `npm start`, `npm run api` and `npm test` build it; or run `npm run build:console`.\n';

const notFound = (reply: FastifyReply, file: string) =>
  reply.status(404).send({ error: { code: 'not_found', message: `no console file ${file}`, details: [] } });

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY');
}

/**
 * The web console: GET / is its one page (hash routing does the rest), GET /console/<file> its built assets. Outside
 * /v1 and without an API key: the page holds no data; it signs in and calls /v1 like any other client.
 */
export const consoleRoutes: FastifyPluginAsync<{ dir?: string }> = async (app, { dir = CONSOLE_DIR }) => {
  app.get('/', { schema: { hide: true } }, async (_request, reply) => {
    const html = await readFile(path.join(dir, 'index.html'), 'utf8').catch(() => null);
    if (html === null) return secure(reply).status(503).header('retry-after', '10').type('text/plain; charset=utf-8').send(NOT_BUILT);
    // Always asked again: it names the current bundle, which a rebuild replaces.
    return secure(reply).header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(html);
  });

  app.get<{ Params: { file: string } }>('/console/:file', { schema: { hide: true } }, async (request, reply) => {
    const { file } = request.params;
    const type = TYPES[path.extname(file)];
    if (!ASSET_NAME.test(file) || !type) return notFound(reply, file);
    // The build writes a gzip copy of the script and the stylesheet; a browser that takes gzip gets it.
    const gzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
    const zipped = gzip ? await readFile(path.join(dir, `${file}.gz`)).catch(() => null) : null;
    const body = zipped ?? (await readFile(path.join(dir, file)).catch(() => null));
    if (body === null) return notFound(reply, file);
    if (zipped) reply.header('content-encoding', 'gzip');
    // The name carries a hash of the content: a changed file gets a new name, so this one can be kept for good.
    const cache = file.endsWith('.map') ? 'no-cache' : 'public, max-age=31536000, immutable';
    return secure(reply).header('vary', 'accept-encoding').header('cache-control', cache).type(type).send(body);
  });
};

import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { TenantRepository } from '../../db/tenants-repo';
import { HttpError } from '../errors';

declare module 'fastify' {
  interface FastifyRequest {
    tenantId: string;
  }
  interface FastifyInstance {
    authenticate(request: FastifyRequest): Promise<void>;
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Bearer API keys: static ones from API_KEYS, or keys made with `herald keys create` (stored hashed). */
export const authPlugin = fp(
  async (app: FastifyInstance, opts: { staticKeys: { tenantId: string; key: string }[]; tenants: TenantRepository }) => {
    const statics = opts.staticKeys.map((k) => ({ tenantId: k.tenantId, digest: digest(k.key) }));
    app.decorateRequest('tenantId', '');
    app.decorate('authenticate', async (request: FastifyRequest) => {
      const header = request.headers.authorization;
      const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
      if (!m) throw new HttpError('unauthorized', 'missing API key: send Authorization: Bearer <api key>');
      const given = digest(m[1]);
      const hit = statics.find((s) => timingSafeEqual(s.digest, given));
      const tenantId = hit?.tenantId ?? (await opts.tenants.tenantForKey(m[1]));
      if (!tenantId) throw new HttpError('unauthorized', 'API key is not valid');
      request.tenantId = tenantId;
    });
  },
  { name: 'auth' },
);

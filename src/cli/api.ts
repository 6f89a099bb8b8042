// How the CLI talks to the API: the typed client (src/client) for every route the OpenAPI document lists, one place
// that turns its answers into values or the CLI's errors, and where the API key comes from.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createHeraldClient, type HeraldClient } from '../client';
import type { CliConfig } from '../config/cli';
import { ApiError, isConnectionFailure, UnreachableError, UsageError } from './errors';

export interface Api {
  readonly baseUrl: string;
  readonly client: HeraldClient;
  /** Turns a client call into its body (typed by the OpenAPI document), or throws ApiError / UnreachableError. */
  unwrap<D>(call: Promise<{ data?: D; error?: unknown; response: Response }>): Promise<D>;
}

/** Where a pipeline lives in the API and on the command line, for messages. */
export const pipelinePath = (id: string) => ({ params: { path: { id } } });

export function connect(cli: CliConfig, flags: { apiUrl?: string; apiKey?: string }): Api {
  const baseUrl = (flags.apiUrl ?? cli.apiUrl).replace(/\/+$/, '');
  try {
    const u = new URL(baseUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new UsageError(`the API URL must be an http(s) URL (got "${baseUrl}"); set --api-url or HERALD_API_URL`);
  }
  const apiKey = flags.apiKey ?? cli.apiKey ?? devKey(cli.dataDir);
  const client = createHeraldClient({ baseUrl, apiKey });
  const unreachable = (err: unknown): never => {
    if (err instanceof ApiError || err instanceof UsageError) throw err;
    if (isConnectionFailure(err)) throw new UnreachableError(`cannot reach the Herald API at ${baseUrl}: is \`npm start\` running? (${describeCause(err)})`);
    if (err instanceof Error && err.name === 'TimeoutError') throw new UnreachableError(`the Herald API at ${baseUrl} did not answer in time`);
    throw err;
  };

  async function unwrap<D>(call: Promise<{ data?: D; error?: unknown; response: Response }>): Promise<D> {
    const { data, error, response } = await call.catch(unreachable);
    if (!response.ok) throw apiError(response.status, error);
    return data as D;
  }

  return { baseUrl, client, unwrap };
}

function devKey(dataDir: string): string {
  try {
    return readFileSync(path.join(dataDir, 'dev-api-key'), 'utf8').trim();
  } catch {
    throw new UsageError('no API key: pass --api-key or set HERALD_API_KEY (`npm start` prints a development key)');
  }
}

function apiError(status: number, body: unknown): ApiError {
  const e = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  if (e && typeof e.code === 'string') {
    return new ApiError(status, e.code, typeof e.message === 'string' ? e.message : e.code, Array.isArray(e.details) ? e.details : [], body);
  }
  const text = typeof body === 'string' ? body.slice(0, 300) : JSON.stringify(body ?? null).slice(0, 300);
  return new ApiError(status, `http_${status}`, text || `HTTP ${status}`, [], body);
}

/** The most specific reason in an error's cause chain: a socket error code, else the innermost message. */
export function describeCause(err: unknown): string {
  let message = err instanceof Error ? err.message : String(err);
  for (let e: any = err, depth = 0; e && depth < 5; e = e.cause, depth++) {
    if (typeof e.code === 'string' && /^E[A-Z_]+$|^UND_ERR/.test(e.code)) return e.code;
    if (e instanceof AggregateError && e.errors.length) return describeCause(e.errors[0]);
    if (typeof e.message === 'string' && e.message) message = e.message;
  }
  return message;
}

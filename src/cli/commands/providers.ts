// What Herald knows about its providers right now: breakers, rate-limit windows, cache use.
import type { Command } from 'commander';
import type { Context } from '../context';
import { table } from '../output';

export function registerProviderCommands(program: Command, ctx: Context): void {
  program
    .command('providers')
    .summary('per provider: circuit breaker, rate-limit windows, cache hits and misses')
    .action((_flags: unknown, cmd: Command) =>
      ctx.show(cmd, (api) => api.unwrap(api.client.GET('/v1/providers')), (out, body) => {
        const rows = body.items.map((p) => [
          p.provider,
          p.breaker.state === 'closed' ? out.green('closed') : out.red(`${p.breaker.state}${p.breaker.retryAt ? ` until ${p.breaker.retryAt}` : ''}`),
          String(p.breaker.failures),
          p.windows.map((w) => `${w.used ?? '?'}/${w.limit ?? '?'} ${w.kind}${w.window ? ` per ${w.window}` : ''}`).join(', ') || '-',
          p.blockedUntil ? out.yellow(`until ${p.blockedUntil}${p.blockedReason ? ` (${p.blockedReason})` : ''}`) : '-',
          `${p.cache.hits}/${p.cache.misses}`,
        ]);
        for (const row of table([['PROVIDER', 'BREAKER', 'FAILURES', 'RATE LIMITS (USED/LIMIT)', 'BLOCKED', 'CACHE HIT/MISS'].map(out.dim), ...rows])) out.line(row);
        out.line(out.dim(body.shared ? 'state shared through Redis' : "this API process's view (no Redis)"));
      }),
    );
}

// Shared by the parts of `npm run bench -- scale`: the tenant, the log line and closed-loop submission.
import { timed, type HeraldStack } from '../lib/herald-stack';

export const TENANT = { id: 'bench', key: 'herald-bench-scale-key' };
export const say = (m: string) => console.log(`[scale] ${m}`);
export const SUBMITTERS = 20;

/** POSTs every body with SUBMITTERS closed-loop clients; the ids in submission order of answers. */
export async function submit(stack: HeraldStack, bodies: unknown[], key = TENANT.key): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(SUBMITTERS, bodies.length) }, async () => {
      while (next < bodies.length) {
        const r = await timed(stack.baseUrl, key, 'POST', '/v1/pipelines', bodies[next++]);
        if (r.status === 202) ids.push(r.json.id);
        else throw new Error(`POST answered ${r.status}: ${JSON.stringify(r.json).slice(0, 300)}`);
      }
    }),
  );
  return ids;
}

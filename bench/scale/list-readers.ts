// The list bench's readers in a process of their own (`node --import tsx bench/scale/list-readers.ts <json>`), so the
// API's event loop serves them and does nothing else, as for clients on other machines: READERS concurrent readers,
// each `rounds` times the first page then the page behind `deepCursor`, timed from send to the last byte and parsed,
// as bench/scale/list.ts's in-process readers do. Prints { first, deep, errors } as JSON.
import { performance } from 'node:perf_hooks';

interface Args {
  baseUrl: string;
  key: string;
  query: string;
  deepCursor: string | null;
  rounds: number;
  readers: number;
}

async function timedGet(a: Args, path: string): Promise<number | null> {
  const t0 = performance.now();
  try {
    const res = await fetch(`${a.baseUrl}${path}`, { headers: { authorization: `Bearer ${a.key}` }, signal: AbortSignal.timeout(30_000) });
    JSON.parse(await res.text());
    return res.status === 200 ? performance.now() - t0 : null;
  } catch {
    return null;
  }
}

async function main() {
  const a = JSON.parse(process.argv[2]) as Args;
  const first: number[] = [];
  const deep: number[] = [];
  let errors = 0;
  await Promise.all(
    Array.from({ length: a.readers }, async () => {
      for (let i = 0; i < a.rounds; i++) {
        const f = await timedGet(a, `/v1/pipelines?limit=100${a.query}`);
        if (f === null) errors++;
        else first.push(f);
        if (!a.deepCursor) continue;
        const d = await timedGet(a, `/v1/pipelines?limit=100${a.query}&cursor=${encodeURIComponent(a.deepCursor)}`);
        if (d === null) errors++;
        else deep.push(d);
      }
    }),
  );
  process.stdout.write(JSON.stringify({ first, deep, errors }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

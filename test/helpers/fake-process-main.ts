// The child side of fake-process.ts: one imitation provider in a process of its own. Run with
// `node --import tsx test/helpers/fake-process-main.ts <kind>` through fork (an IPC channel): it sends { url } once
// listening, then answers each { id, cmd } message with { id, result }.
import { startOpenAIFake } from '../fakes/openai-server';
import type { FakeAiServer, RateLimitRule } from '../fakes/fake-control';

type Command = { id: number; cmd: 'enforceRateLimit'; rule: RateLimitRule } | { id: number; cmd: 'stats' } | { id: number; cmd: 'close' };

const STARTERS: Record<string, () => Promise<FakeAiServer>> = { openai: () => startOpenAIFake() };

async function main(): Promise<void> {
  const kind = process.argv[2];
  const start = STARTERS[kind];
  if (!start || !process.send) throw new Error(`usage: fork fake-process-main.ts <${Object.keys(STARTERS).join('|')}>`);
  const fake = await start();
  const send = (m: unknown) => process.send!(m);
  process.on('message', (m: Command) => {
    if (m.cmd === 'enforceRateLimit') {
      fake.control.enforceRateLimit(m.rule);
      send({ id: m.id, result: null });
    } else if (m.cmd === 'stats') {
      send({ id: m.id, result: { requests: fake.requests.map((r) => ({ at: r.at, path: r.path, body: r.body })), accepted: fake.accepted, refused: fake.refused } });
    } else if (m.cmd === 'close') {
      void fake.close().then(() => {
        send({ id: m.id, result: null });
        process.disconnect();
      });
    }
  });
  // The parent going away (a killed test run) ends this process too.
  process.on('disconnect', () => process.exit(0));
  send({ url: fake.url });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

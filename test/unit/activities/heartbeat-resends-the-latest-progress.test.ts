// withHeartbeat (src/activities/heartbeat.ts) under @temporalio/testing's MockActivityEnvironment: every periodic beat
// carries the activity's latest progress as its details, so a retry on another worker reads where the work got to;
// a beat never replaces recorded progress with nothing, and beats stop when the work ends.
import { MockActivityEnvironment } from '@temporalio/testing';
import { withHeartbeat } from '../../../src/activities/heartbeat';

type Progress = { parts: string[] };

it('each beat sends the latest progress, and the beats stop with the work', async () => {
  const env = new MockActivityEnvironment({ activityType: 'publishPost', attempt: 1 });
  const sent: unknown[] = [];
  let nextBeat: (() => void) | null = null;
  env.on('heartbeat', (d: unknown) => {
    sent.push(d);
    nextBeat?.();
  });
  const beat = () => new Promise<void>((resolve) => (nextBeat = resolve));

  let progress: Progress | undefined;
  const result = await env.run(() =>
    withHeartbeat(
      async () => {
        progress = { parts: ['101'] };
        await beat();
        progress = { parts: ['101', '102'] };
        await beat();
        return 'done';
      },
      () => progress,
    ),
  );

  expect(result).toBe('done');
  expect(sent).toEqual([{ parts: ['101'] }, { parts: ['101', '102'] }]);
  const count = sent.length;
  await new Promise((r) => setTimeout(r, 2_300));
  expect(sent).toHaveLength(count);
});

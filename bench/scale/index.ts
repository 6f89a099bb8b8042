// `npm run bench -- scale [--parts workers,scheduled,list] [--n 200] [--slots 2] [--ai-ms 300] [--platform-ms 300]
//   [--wft-slots K] [--sequential] [--scheduled 10000] [--image none|auto] [--rows 100000] [--limit-s 1200]`: three parts,
//   each on a fresh stack of its own (bench/scale/<part>.ts):
//   workers   two worker processes against one on slot-bound work (target >= 1.8 times);
//   scheduled 10,000 pipelines scheduled a day ahead: one worker's RSS (target < 500 MB); --image auto gives each a
//             title card (several times slower to prepare: use a smaller --scheduled), none (default) no image;
//   list      GET /v1/pipelines over 100,000 rows: p99 (target < 50 ms).
// Prints tables and writes bench/results/scale-<part>.json for each part run.
import { parseArgs } from 'node:util';
import { runBench } from '../lib/herald-stack';
import { printTable, writeResults, type Cell } from '../lib/report';
import { listPart } from './list';
import { SCHEDULED_IMAGE_MODES, scheduledPart, type ScheduledImageMode } from './scheduled';
import { workersPart, workersTables } from './workers';
import { say } from './common';

const PARTS = ['workers', 'scheduled', 'list'] as const;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      parts: { type: 'string', default: PARTS.join(',') },
      n: { type: 'string', default: '200' },
      slots: { type: 'string', default: '2' },
      'ai-ms': { type: 'string', default: '300' },
      'platform-ms': { type: 'string', default: '300' },
      'wft-slots': { type: 'string' },
      sequential: { type: 'boolean', default: false },
      scheduled: { type: 'string', default: '10000' },
      image: { type: 'string', default: 'none' },
      rows: { type: 'string', default: '100000' },
      'limit-s': { type: 'string', default: '1200' },
    },
  });
  const parts = String(values.parts).split(',').map((p) => p.trim()).filter(Boolean);
  const unknown = parts.filter((p) => !(PARTS as readonly string[]).includes(p));
  if (unknown.length) throw new Error(`unknown part(s) ${unknown.join(', ')}; parts are ${PARTS.join(', ')}`);
  const limitMs = Number(values['limit-s']) * 1000;
  const image = String(values.image) as ScheduledImageMode;
  if (!SCHEDULED_IMAGE_MODES.includes(image)) throw new Error(`--image is one of ${SCHEDULED_IMAGE_MODES.join(', ')}`);
  let failures = 0;
  const verdicts: Cell[][] = [];
  if (parts.includes('workers')) {
    const wft = values['wft-slots'] === undefined ? undefined : Math.max(1, Number(values['wft-slots']));
    const r = await workersPart({ n: Math.max(1, Number(values.n)), slots: Math.max(1, Number(values.slots)), aiMs: Number(values['ai-ms']), platformMs: Number(values['platform-ms']), wftSlots: wft, sequential: Boolean(values.sequential), limitMs });
    verdicts.push(...workersTables(r));
    failures += r.failures;
    say(`results: ${writeResults('scale-workers', r)}`);
  }
  if (parts.includes('scheduled')) {
    const r = await scheduledPart({ n: Math.max(0, Number(values.scheduled)), limitMs, image });
    verdicts.push([`scheduled a day ahead (image.mode ${r.imageMode}): waiting / submitted`, `${r.waiting} / ${r.n}`]);
    verdicts.push(['time until all wait s (submitted in s), pipelines/s', `${r.allWaitingAfterS} (${r.submitS}), ${r.pipelinesPerS}`]);
    verdicts.push(['worker RSS MB: before / peak / all waiting / settled (target < 500)', `${r.workerRssMb.before} / ${r.workerRssMb.peak} / ${r.workerRssMb.after} / ${r.workerRssMb.settled}`]);
    verdicts.push(['RSS peak at (s, waiting); KB per waiting pipeline (settled)', `${r.peakAt.s} s, ${r.peakAt.waiting}; ${r.kbPerWaitingPipeline}`]);
    verdicts.push(['load average 1 min: min / max during, at the end (1/5/15)', `${r.load1m.min} / ${r.load1m.max}, ${r.load1m.atAllWaiting.join(' ')}`]);
    failures += r.failures;
    say(`results: ${writeResults('scale-scheduled', r)}`);
  }
  if (parts.includes('list')) {
    const r = await listPart({ rows: Math.max(0, Number(values.rows)) });
    verdicts.push([`list first page over ${r.rows} rows (${r.insertedWithSql} inserted with SQL): p50 / p99 ms (target p99 < 50)`, `${r.firstPageMs.p50} / ${r.firstPageMs.p99}`]);
    verdicts.push(['list page 50 (cursor): p50 / p99 ms', `${r.page50Ms.p50} / ${r.page50Ms.p99}`]);
    failures += r.failures;
    say(`results: ${writeResults('scale-list', r)}`);
  }
  printTable('verdicts', ['metric', 'value'], verdicts);
  return failures ? 1 : 0;
}

runBench('scale', main);

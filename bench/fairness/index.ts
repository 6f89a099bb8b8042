// `npm run bench -- fairness [--n 1000] [--b-every-s 3] [--priority-k 100] [--activities N --workflow-tasks N --cached N]`: what the dev server's task-queue priority
// and fairness (matching.useNewMatcher and matching.enableFairness, which `npm run bench` passes to its dev server;
// Herald starts every pipeline with its tenant as fairness key and its priority as priority key) and Herald's bulk lane
// (a tenant over its share on `<queue>-bulk`, src/worker/lanes.ts) deliver.
//   1. Tenant B alone: 5 pipelines one at a time (B's idle end to end), and 5 more after step 2.
//   2. Tenant A submits n pipelines at once (50 submitters); tenant B submits one every few seconds while A's backlog
//      is unfinished. B's end-to-end p50 then, against its idle p50 (target <= 2x).
//   3. One tenant submits k `critical` and k `low` pipelines at the same time (interleaved): the order they complete.
// Beside B, a bare workflow of the pipeline's shape on its own worker (alone, then one every few seconds during the burst)
// shows what the dev server and the machine alone do to a workflow under the burst.
// Dry-run thread pipelines to 4 platforms with title cards, one worker. Prints tables, writes bench/results/fairness.json.
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Pool } from 'pg';
import { endToEndMs, followPipelinesInDb, load1m, runBench, startHeraldStack, threadRequest, timed, type Seen } from '../lib/herald-stack';
import { printTable, writeResults, type Cell } from '../lib/report';
import { sleep } from '../lib/stack';
import { round, roundSummary, summarize } from '../lib/stats';

const A = { id: 'tenant-a', key: 'herald-bench-fair-a' };
const B = { id: 'tenant-b', key: 'herald-bench-fair-b' };
const say = (m: string) => console.log(`[fairness] ${m}`);

async function submitAll(baseUrl: string, key: string, bodies: unknown[], concurrency: number): Promise<{ ids: (string | null)[]; failed: number }> {
  const ids: (string | null)[] = new Array(bodies.length).fill(null);
  let next = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, bodies.length) }, async () => {
      while (next < bodies.length) {
        const i = next++;
        const r = await timed(baseUrl, key, 'POST', '/v1/pipelines', bodies[i]);
        if (r.status === 202) ids[i] = r.json.id;
        else failed++;
      }
    }),
  );
  return { ids, failed };
}

/**
 * Where one pipeline's end to end went, from its workflow history (the parent only): time its workflow tasks and
 * activities waited in the task queue (scheduled -> started), and ran in the worker (started -> completed), ms.
 */
async function whereTimeWent(client: Client, workflowId: string): Promise<Record<string, number>> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const at = new Map<number, number>();
  const out = { wftQueue: 0, wftQueueNormal: 0, wftQueueSticky: 0, wftRun: 0, actQueue: 0, actRun: 0, wfts: 0, activities: 0, wftQueueMax: 0, wftStickyTimeouts: 0 };
  const sticky = new Map<number, boolean>();
  const ms = (e: temporal.api.history.v1.IHistoryEvent) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.round((e.eventTime?.nanos ?? 0) / 1e6);
  for (const e of history.events ?? []) {
    const id = Number(e.eventId);
    at.set(id, ms(e));
    const T = temporal.api.enums.v1.EventType;
    if (e.eventType === T.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED) sticky.set(id, e.workflowTaskScheduledEventAttributes?.taskQueue?.kind === temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_STICKY);
    if (e.eventType === T.EVENT_TYPE_WORKFLOW_TASK_STARTED) {
      const scheduled = Number(e.workflowTaskStartedEventAttributes!.scheduledEventId);
      const wait = ms(e) - at.get(scheduled)!;
      out.wftQueue += wait;
      out.wftQueueMax = Math.max(out.wftQueueMax, wait);
      if (sticky.get(scheduled)) out.wftQueueSticky += wait;
      else out.wftQueueNormal += wait;
    }
    // A task left on the worker's sticky queue past its schedule-to-start timeout (10 s) and put back on the normal one.
    if (e.eventType === T.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT) out.wftStickyTimeouts++;
    if (e.eventType === T.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) {
      out.wftRun += ms(e) - at.get(Number(e.workflowTaskCompletedEventAttributes!.startedEventId))!;
      out.wfts++;
    }
    if (e.eventType === T.EVENT_TYPE_ACTIVITY_TASK_STARTED) out.actQueue += ms(e) - at.get(Number(e.activityTaskStartedEventAttributes!.scheduledEventId))!;
    if (e.eventType === T.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
      out.actRun += ms(e) - at.get(Number(e.activityTaskCompletedEventAttributes!.startedEventId))!;
      out.activities++;
    }
  }
  return out;
}

/**
 * whereTimeWent of each pipeline, summed and divided by their number (a typical pipeline's split); plus how many had a
 * workflow task time out on the sticky queue, and the longest one task waited in a queue.
 */
async function meanSplit(pool: Pool, client: Client, ids: string[]): Promise<Record<string, number>> {
  if (!ids.length) return {};
  const { rows } = await pool.query<{ workflow_id: string }>('SELECT workflow_id FROM pipelines WHERE id = ANY($1)', [ids]);
  return meanSplitOfWorkflows(client, rows.map((r) => r.workflow_id));
}

/**
 * The same split for bare workflows (bench/lib/bare-workflows.ts, on the bare worker's own process and task queue): what
 * the dev server and this machine do to any workflow's tasks while A's burst runs, Herald's worker aside.
 */
async function meanSplitOfWorkflows(client: Client, workflowIds: string[]): Promise<Record<string, number>> {
  const got = (await Promise.all(workflowIds.map((id) => whereTimeWent(client, id).catch(() => null)))).filter((x): x is NonNullable<typeof x> => x !== null);
  if (!got.length) return {};
  const sum: Record<string, number> = {};
  for (const g of got) for (const [k, v] of Object.entries(g)) sum[k] = (sum[k] ?? 0) + v;
  return {
    ...Object.fromEntries(Object.entries(sum).map(([k, v]) => [k, Math.round(v / got.length)])),
    pipelines: got.length,
    withStickyTimeout: got.filter((g) => g.wftStickyTimeouts > 0).length,
    wftQueueMax: Math.max(...got.map((g) => g.wftQueueMax)),
  };
}

/** One workflow's history as `+ms EVENT_TYPE` lines (relative to its first event): where a slow pipeline waited. */
async function timeline(client: Client, workflowId: string): Promise<string[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const ms = (e: temporal.api.history.v1.IHistoryEvent) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.round((e.eventTime?.nanos ?? 0) / 1e6);
  const t0 = events.length ? ms(events[0]) : 0;
  const name = (t: number | null | undefined) => (temporal.api.enums.v1.EventType[t ?? 0] ?? String(t)).replace('EVENT_TYPE_', '');
  return events.map((e) => {
    const q = e.workflowTaskScheduledEventAttributes?.taskQueue;
    const kind = q ? (q.kind === temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_STICKY ? ' (sticky)' : ' (normal)') : '';
    const act = e.activityTaskScheduledEventAttributes?.activityType?.name ?? e.markerRecordedEventAttributes?.markerName ?? '';
    return `+${ms(e) - t0} ${name(e.eventType)}${kind}${act ? ` ${act}` : ''}`;
  });
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { n: { type: 'string', default: '1000' }, 'b-every-s': { type: 'string', default: '3' }, 'priority-k': { type: 'string' }, 'limit-s': { type: 'string', default: '1800' }, activities: { type: 'string' }, 'workflow-tasks': { type: 'string' }, cached: { type: 'string' }, lanes: { type: 'string', default: 'both' } } });
  // --lanes: both (one process, the default), split (WORKER_LANES=split: the bulk lane in a child process at nice 19,
  // gated over IPC), separate (two worker processes, WORKER_LANES=main and WORKER_LANES=bulk, no gate between them).
  const LANES = values.lanes ?? 'both';
  if (!['both', 'split', 'separate'].includes(LANES)) throw new Error(`--lanes must be both, split or separate (got ${LANES})`);
  const SEPARATE = LANES === 'separate';
  const N = Math.max(1, Number(values.n));
  const B_EVERY_MS = Number(values['b-every-s']) * 1000;
  const K = Math.max(2, Number(values['priority-k'] ?? Math.max(10, Math.round(N / 10))));
  const LIMIT_MS = Number(values['limit-s']) * 1000;
  const t0 = Date.now();
  // Unset: the worker's own defaults (npm start's). --activities 100 --workflow-tasks 40 is the SDK's defaults.
  const extraEnv: Record<string, string> = {
    ...(values.activities ? { WORKER_MAX_ACTIVITIES: values.activities } : {}),
    ...(values['workflow-tasks'] ? { WORKER_MAX_WORKFLOW_TASKS: values['workflow-tasks'] } : {}),
    ...(values.cached ? { WORKER_MAX_CACHED_WORKFLOWS: values.cached } : {}),
  };
  const stack = await startHeraldStack({
    name: 'fairness',
    tenants: [A, B],
    workers: SEPARATE ? 2 : 1,
    workerEnv: (i: number) => ({ WORKER_LANES: SEPARATE ? (i === 0 ? 'main' : 'bulk') : LANES }),
    extraEnv,
    overallMs: LIMIT_MS + 300_000, say });
  const loads: number[] = [];
  const { baseUrl } = stack;
  let failures = 0;
  const out: Record<string, unknown> = {};
  try {
    // 1. B alone: one at a time, the first as a warm-up; again once A's burst is over (the machine's load drifts: the
    // idle figure is the median of both).
    const idle: number[] = [];
    const idleIds: string[] = [];
    const bAlone = async (count: number, from: number): Promise<number[]> => {
      const ms: number[] = [];
      for (let i = 0; i < count; i++) {
        const r = await timed(baseUrl, B.key, 'POST', '/v1/pipelines', threadRequest(from + i));
        if (r.status !== 202) throw new Error(`B's idle POST answered ${r.status}`);
        const seen = (await followPipelinesInDb(stack.pool, [r.json.id], Date.now() + 120_000, 100)).get(r.json.id);
        if (seen?.status !== 'published') throw new Error(`B's idle pipeline ended ${seen?.status ?? 'unfinished'}`);
        if (from > 0 || i > 0) {
          ms.push(endToEndMs(seen));
          idleIds.push(r.json.id);
        }
      }
      return ms;
    };
    const idleBefore = await bAlone(6, 0);
    idle.push(...idleBefore);
    say(`B idle: p50 ${summarize(idleBefore).p50} ms`);
    // The reference: a bare workflow of the pipeline's shape on its own worker, alone, then one every few seconds
    // during A's burst (between B's). Its ratio is what the server and the machine do to any workflow under the burst.
    const client = stack.api.client;
    const bareRun = async (id: string): Promise<{ id: string; ms: number; endedAt: number } | null> => {
      const t = performance.now();
      try {
        const handle = await client.workflow.start('barePipeline', { taskQueue: stack.bareTaskQueue, workflowId: id });
        await handle.result();
        return { id, ms: Math.round(performance.now() - t), endedAt: Date.now() };
      } catch {
        failures++;
        return null;
      }
    };
    const bareAlone = async (count: number, tag: string) => {
      const runs: { id: string; ms: number; endedAt: number }[] = [];
      for (let i = 0; i < count; i++) {
        const r = await bareRun(`bare-fair-${tag}-${i}-${Date.now()}`);
        if (r && i > 0) runs.push(r);
      }
      return runs;
    };
    const bareIdle = await bareAlone(6, 'idle-before');

    // 2. A's burst, B trickling in while it is unfinished.
    let aFinished = false;
    const aStart = Date.now();
    const aSubmit = submitAll(baseUrl, A.key, Array.from({ length: N }, (_, i) => threadRequest(i)), 50);
    const bIds: string[] = [];
    const bLoop = (async () => {
      while (!aFinished && Date.now() - aStart < LIMIT_MS) {
        const r = await timed(baseUrl, B.key, 'POST', '/v1/pipelines', threadRequest(1000 + bIds.length));
        if (r.status === 202) bIds.push(r.json.id);
        else failures++;
        await sleep(B_EVERY_MS);
      }
    })();
    const bareBusy: Promise<{ id: string; ms: number; endedAt: number } | null>[] = [];
    const bareLoop = (async () => {
      await sleep(B_EVERY_MS / 2);
      while (!aFinished && Date.now() - aStart < LIMIT_MS) {
        bareBusy.push(bareRun(`bare-fair-busy-${bareBusy.length}-${Date.now()}`));
        await sleep(B_EVERY_MS);
      }
    })();
    const a = await aSubmit;
    failures += a.failed;
    const aIds = a.ids.filter((x): x is string => x !== null);
    say(`A: ${aIds.length} accepted in ${((Date.now() - aStart) / 1000).toFixed(1)} s`);
    let lastSay = 0;
    const aSeen = await followPipelinesInDb(stack.pool, aIds, aStart + LIMIT_MS, 1000, (done, total) => {
      loads.push(load1m());
      if (Date.now() - lastSay > 15_000) {
        lastSay = Date.now();
        say(`A: ${done}/${total} final; B submitted ${bIds.length}; load ${load1m()}`);
      }
    });
    aFinished = true;
    await bLoop;
    await bareLoop;
    const bareUnderAll = (await Promise.all(bareBusy)).filter((r): r is NonNullable<typeof r> => r !== null);
    const aDoneAt = Math.max(...[...aSeen.values()].map((s) => Date.parse(s.updatedAt)));
    const bSeen = await followPipelinesInDb(stack.pool, bIds, Date.now() + 300_000, 500);
    const idleAfter = await bAlone(5, 9000);
    idle.push(...idleAfter);
    bareIdle.push(...(await bareAlone(6, 'idle-after')));
    const idleS = summarize(idle);
    say(`B idle again after A's burst: p50 ${summarize(idleAfter).p50} ms; both: ${idleS.p50} ms`);
    // Only B's pipelines that were created and finished while A still had unfinished ones count as "under A's backlog".
    const bUnder = [...bSeen.values()].filter((s) => s.status === 'published' && Date.parse(s.updatedAt) <= aDoneAt);
    const aPublished = [...aSeen.values()].filter((s) => s.status === 'published');
    failures += aIds.length - aPublished.length;
    const busyS = summarize(bUnder.map(endToEndMs));
    const bUnderIds = [...bSeen.entries()].filter(([, s]) => bUnder.includes(s)).map(([id]) => id);
    const split = { idle: await meanSplit(stack.pool, stack.api.client, idleIds), underBacklog: await meanSplit(stack.pool, stack.api.client, bUnderIds) };
    const aE2e = summarize(aPublished.map(endToEndMs));
    const bareUnder = bareUnderAll.filter((r) => r.endedAt <= aDoneAt);
    const bareIdleS = summarize(bareIdle.map((r) => r.ms));
    const bareBusyS = summarize(bareUnder.map((r) => r.ms));
    const bareSplit = { idle: await meanSplitOfWorkflows(client, bareIdle.map((r) => r.id)), underBacklog: await meanSplitOfWorkflows(client, bareUnder.map((r) => r.id)) };
    // The slowest of B's pipelines under the backlog, event by event.
    const slowest = [...bSeen.entries()].filter(([, s]) => bUnder.includes(s)).sort((x, y) => endToEndMs(y[1]) - endToEndMs(x[1]))[0];
    if (slowest) {
      const { rows } = await stack.pool.query<{ workflow_id: string }>('SELECT workflow_id FROM pipelines WHERE id = $1', [slowest[0]]);
      say(`B's slowest under the backlog (${endToEndMs(slowest[1])} ms end to end), its history:\n  ${(await timeline(stack.api.client, rows[0].workflow_id)).join('\n  ')}`);
    }
    // Where A's pipelines ran: Herald's bulk lane (its tenant over its share) or the main queue.
    const lanes = await Promise.all([stack.taskQueue, `${stack.taskQueue}-bulk`].map((q) => stack.api.client.workflow.count(`TaskQueue = "${q}" AND HeraldTenant = "${A.id}"`).then((c) => c.count).catch(() => null)));
    const aSpanS = (aDoneAt - aStart) / 1000;

    // 3. critical and low at the same time.
    const bodies = Array.from({ length: 2 * K }, (_, i) => threadRequest(5000 + i, { priority: i % 2 === 0 ? 'critical' : 'low' }));
    const pStart = Date.now();
    const p = await submitAll(baseUrl, A.key, bodies, 2 * K);
    failures += p.failed;
    const pIds = p.ids.filter((x): x is string => x !== null);
    const prioOf = new Map(p.ids.map((id, i) => [id, i % 2 === 0 ? 'critical' : 'low']));
    const pSeen = await followPipelinesInDb(stack.pool, pIds, pStart + LIMIT_MS, 250);
    const order = [...pSeen.entries()]
      .filter(([, s]) => s.status === 'published')
      .sort((x, y) => Date.parse(x[1].updatedAt) - Date.parse(y[1].updatedAt))
      .map(([id, s]) => ({ id, priority: prioOf.get(id)!, s }));
    failures += pIds.length - order.length;
    const rankOf = (prio: string) => summarize(order.flatMap((o, i) => (o.priority === prio ? [i + 1] : [])));
    const e2eOf = (prio: string) => summarize(order.filter((o) => o.priority === prio).map((o) => endToEndMs(o.s as Seen)));
    const criticalInFirstK = order.slice(0, K).filter((o) => o.priority === 'critical').length;
    const crit = { rank: rankOf('critical'), e2e: e2eOf('critical') };
    const low = { rank: rankOf('low'), e2e: e2eOf('low') };

    const ratio = busyS.p50 / idleS.p50;
    printTable(`fairness: tenant A submits ${N} at once, tenant B one every ${B_EVERY_MS / 1000} s meanwhile`, ['end to end, ms', 'n', 'p50', 'p95', 'max'], [
      ['B alone (idle), before and after the burst', idleS.n, idleS.p50, idleS.p95, idleS.max],
      ['  of which before', summarize(idleBefore).n, summarize(idleBefore).p50, summarize(idleBefore).p95, summarize(idleBefore).max],
      ['  of which after', summarize(idleAfter).n, summarize(idleAfter).p50, summarize(idleAfter).p95, summarize(idleAfter).max],
      ["B while A's backlog is queued", busyS.n, busyS.p50, busyS.p95, busyS.max],
      ["A's burst", aE2e.n, aE2e.p50, aE2e.p95, aE2e.max],
      ['bare workflow alone (idle), before and after', bareIdleS.n, bareIdleS.p50, bareIdleS.p95, bareIdleS.max],
      ["bare workflow while A's backlog is queued", bareBusyS.n, bareBusyS.p50, bareBusyS.p95, bareBusyS.max],
    ] as Cell[][]);
    const splitRow = (name: string, x: Record<string, number>): Cell[] => [name, `${x.wftQueue} (${x.wftQueueNormal} / ${x.wftQueueSticky})`, x.wftRun, x.actQueue, x.actRun, `${x.wfts} / ${x.activities}`, x.wftQueueMax, `${x.withStickyTimeout} of ${x.pipelines}`];
    printTable("where B's time went (mean per pipeline, parent workflow's history), ms", ['B', 'workflow tasks queued (normal / sticky queue)', 'workflow tasks ran', 'activities queued', 'activities ran', 'tasks / activities', 'longest task wait', 'sticky timeouts'], [
      splitRow('alone (idle)', split.idle),
      splitRow("under A's backlog", split.underBacklog),
      splitRow('bare workflow alone (idle)', bareSplit.idle),
      splitRow("bare workflow under A's backlog", bareSplit.underBacklog),
    ]);
    printTable('verdicts', ['metric', 'value'], [
      ['B busy p50 / B idle p50', `${round(ratio, 2)} (target <= 2)`],
      ['bare workflow busy p50 / idle p50 (the server and machine alone)', round(bareBusyS.p50 / bareIdleS.p50, 2)],
      ["A's burst: first submit -> last final, s", round(aSpanS, 1)],
      ["A's burst on the main queue / the bulk lane (workflows)", `${lanes[0]} / ${lanes[1]}`],
      ["load average (1 min) during A's backlog: mean / max", `${round(summarize(loads).mean, 2)} / ${summarize(loads).max}`],
      [`critical among the first ${K} of ${2 * K} to complete`, `${criticalInFirstK} of ${K}`],
      ['completion rank, critical: mean / p50', `${round(crit.rank.mean, 1)} / ${crit.rank.p50}`],
      ['completion rank, low: mean / p50', `${round(low.rank.mean, 1)} / ${low.rank.p50}`],
      ['end to end p50 ms, critical / low', `${crit.e2e.p50} / ${low.e2e.p50}`],
    ]);
    Object.assign(out, {
      bIdleMs: roundSummary(idleS, 0),
      bIdleBeforeMs: roundSummary(summarize(idleBefore), 0),
      bIdleAfterMs: roundSummary(summarize(idleAfter), 0),
      bUnderBacklogMs: roundSummary(busyS, 0),
      bSubmittedDuringBacklog: bIds.length,
      loadDuringBacklog: roundSummary(summarize(loads), 2),
      bSplitMs: split,
      bBusyOverIdleP50: round(ratio, 3),
      bare: { idleMs: roundSummary(bareIdleS, 0), underBacklogMs: roundSummary(bareBusyS, 0), busyOverIdleP50: round(bareBusyS.p50 / bareIdleS.p50, 3), splitMs: bareSplit },
      target: '<= 2',
      aLanes: { main: lanes[0], bulk: lanes[1] },
      aBurst: { n: N, accepted: aIds.length, published: aPublished.length, spanS: round(aSpanS, 1), endToEndMs: roundSummary(aE2e, 0) },
      priority: {
        k: K,
        criticalInFirstK,
        rankCritical: roundSummary(crit.rank, 1),
        rankLow: roundSummary(low.rank, 1),
        endToEndCriticalMs: roundSummary(crit.e2e, 0),
        endToEndLowMs: roundSummary(low.e2e, 0),
        order: order.map((o) => o.priority[0]).join(''),
      },
    });
  } finally {
    await stack.stop();
  }
  const file = writeResults('fairness', {
    config: { n: N, bEveryS: B_EVERY_MS / 1000, devServer: 'matching.useNewMatcher=true, matching.enableFairness=true, one task-queue partition', fairnessKey: 'tenant', request: 'dry-run thread, 4 platforms, title cards, 1 worker', lanes: { both: 'one process (WORKER_LANES=both)', split: 'WORKER_LANES=split: the bulk lane in a child process at nice 19, gated over IPC', separate: 'two processes, WORKER_LANES=main and WORKER_LANES=bulk, not gated' }[LANES], workerEnv: Object.keys(extraEnv).length ? extraEnv : 'defaults' },
    ...out,
    failures,
    totalS: round((Date.now() - t0) / 1000, 1),
  });
  say(`results: ${file}`);
  return failures ? 1 : 0;
}

runBench('fairness', main);

import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Config } from '../config';

export const TOKEN_REFRESH_SCHEDULE_ID = 'herald-token-refresh';

/** Creates the token-refresh Schedule, or brings an existing one in line with the configuration. Safe on every start. */
export async function ensureTokenRefreshSchedule(client: Client, config: Config, logger: Logger, scheduleId = TOKEN_REFRESH_SCHEDULE_ID): Promise<void> {
  const spec = { intervals: [{ every: config.tokenRefreshEveryMs }] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'refreshExpiringTokens',
    taskQueue: config.temporal.taskQueue,
    workflowId: scheduleId,
    args: [{ aheadMs: config.tokenRefreshAheadMs, warningMs: config.accountExpiryWarningMs }],
  };
  try {
    await client.schedule.create({ scheduleId: scheduleId, spec, action, policies: { overlap: ScheduleOverlapPolicy.SKIP } });
    logger.info({ every: config.tokenRefreshEveryMs, ahead: config.tokenRefreshAheadMs }, 'token refresh schedule created');
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec, action }));
  }
}

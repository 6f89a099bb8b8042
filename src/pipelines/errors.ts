// Why a pipeline could not be created, in terms of the request: the API turns each into its answer (status, code).
import type { CapProblem } from './daily-cap-check';

/** A target names an account this tenant has not connected, or one of another platform. */
export class TargetAccountError extends Error {
  constructor(
    message: string,
    /** Where in the request, dotted (`targets.0.accountId`). */
    readonly path: string,
    readonly reason: 'unknown account' | 'platform mismatch',
  ) {
    super(message);
    this.name = 'TargetAccountError';
  }
}

/** The tenant already has its limit of active pipelines. */
export class BacklogFullError extends Error {
  constructor(readonly limit: number) {
    super(`this tenant already has ${limit} active pipelines; try again when some finish`);
    this.name = 'BacklogFullError';
  }
}

/** The idempotency key was used before, with a different request. */
export class IdempotencyKeyReusedError extends Error {
  constructor(readonly pipelineId: string) {
    super('Idempotency-Key was already used with a different request body');
    this.name = 'IdempotencyKeyReusedError';
  }
}

/** Temporal did not take the pipeline's workflow; without an idempotency key its row is gone again. */
export class PipelineNotStartedError extends Error {
  constructor(
    readonly pipelineId: string,
    cause: unknown,
  ) {
    super('Temporal is not reachable; the pipeline was not started', { cause });
    this.name = 'PipelineNotStartedError';
  }
}

/** A target account's daily cap is already full at the requested publishAt (and the request did not ask to move). */
export class DailyCapFullError extends Error {
  constructor(
    readonly problems: CapProblem[],
    /** The first time every target has room, or null when none is within reach. */
    readonly nextFreeAt: string | null,
  ) {
    super(`${problems[0].message}; ${problems[0].hint}`);
    this.name = 'DailyCapFullError';
  }
}

import { BacklogFullError, DailyCapFullError, IdempotencyKeyReusedError, PipelineNotStartedError, TargetAccountError } from '../pipelines';
import { HttpError } from './errors';

/** The API's answer to a refused pipeline creation (src/pipelines), or null for any other error. */
export function httpErrorFromPipelineCreation(err: unknown): HttpError | null {
  if (err instanceof TargetAccountError) return new HttpError('validation_failed', err.message, [{ path: err.path, message: err.reason }]);
  if (err instanceof DailyCapFullError) {
    return new HttpError(
      'unprocessable',
      err.message,
      err.problems.map(({ target, platform, accountId, path, code, cap, nextFreeAt, hint }) => ({ path, code, target, platform, accountId, cap, nextFreeAt, hint })),
    );
  }
  if (err instanceof BacklogFullError) return new HttpError('backlog_full', err.message, [], 30);
  if (err instanceof IdempotencyKeyReusedError) return new HttpError('unprocessable', err.message, [{ pipelineId: err.pipelineId }]);
  if (err instanceof PipelineNotStartedError) return new HttpError('unavailable', err.message, [], 5);
  return null;
}

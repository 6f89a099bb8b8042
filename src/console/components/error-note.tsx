import { describeError } from '../api';

/** An error as a marketer reads it: the message and, beside it, what to do. */
export function ErrorNote({ error, testId }: { error: unknown; testId?: string }) {
  if (error === null || error === undefined) return null;
  const { message, hint } = describeError(error);
  return (
    <div class="note note-error" role="alert" data-testid={testId}>
      <p class="note-message">{message}</p>
      <p class="note-hint">{hint}</p>
    </div>
  );
}

import type { Logger } from 'pino';

/** Signals that stop Herald gracefully: Ctrl-C, `kill`, a closed terminal, SIGQUIT. */
const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

export interface ShutdownOptions {
  /** Longest the close steps may take before the process exits with 1 anyway; unset: no limit. */
  graceMs?: number;
}

type Reason = { kind: 'signal'; signal: NodeJS.Signals } | { kind: 'error'; err: unknown } | { kind: 'failed-start' };

/**
 * The one shutdown path of every entry point. What start-up opens registers its close step with `onShutdown`; a stop
 * signal, an uncaught error or `fail(err)` then runs the steps, the last registered first (the API stops taking requests
 * before the worker drains, the worker drains before its database pool ends), and exits: 0 after a signal, 1 after an
 * error, a second signal or the grace period. A failing step is logged and the next one still runs.
 */
export class Shutdown {
  private readonly steps: { name: string; close: () => Promise<unknown> }[] = [];
  private started = false;
  private readonly onSignal = (signal: NodeJS.Signals) => void this.stop({ kind: 'signal', signal });
  private readonly onError = (err: unknown) => void this.stop({ kind: 'error', err });

  constructor(
    private readonly logger: Logger,
    private readonly opts: ShutdownOptions = {},
  ) {
    for (const s of STOP_SIGNALS) process.once(s, this.onSignal);
    process.on('uncaughtException', this.onError);
    process.on('unhandledRejection', this.onError);
  }

  /** True once shutdown has begun: a start-up step failing now is a consequence, not the cause. */
  get stopping(): boolean {
    return this.started;
  }

  /** Registers what to close at shutdown; it closes after everything registered later. */
  onShutdown(name: string, close: () => Promise<unknown>): void {
    this.steps.push({ name, close });
  }

  /** Stops the process because something it runs failed: logged, closed as after a signal, exit code 1. */
  fail(err: unknown): Promise<void> {
    return this.stop({ kind: 'error', err });
  }

  /** Start-up failed and the entry point has said why: closes what was opened so far and exits with 1. */
  abort(): Promise<void> {
    return this.stop({ kind: 'failed-start' });
  }

  private async stop(reason: Reason): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const s of STOP_SIGNALS) {
      process.removeListener(s, this.onSignal);
      process.on(s, (again) => {
        this.logger.error({ signal: again }, 'second signal, exiting now');
        process.exit(1);
      });
    }
    if (reason.kind === 'signal') this.logger.info({ signal: reason.signal }, 'shutting down');
    if (reason.kind === 'error') this.logger.error({ err: reason.err }, 'shutting down after an error');
    if (this.opts.graceMs !== undefined) {
      const graceMs = this.opts.graceMs;
      setTimeout(() => {
        this.logger.error({ graceMs }, 'shutdown took longer than its grace period; exiting now');
        process.exit(1);
      }, graceMs).unref();
    }
    // While closing, a late error (a start-up step meeting a closed pool) is noted, not a second shutdown.
    process.removeListener('uncaughtException', this.onError);
    process.removeListener('unhandledRejection', this.onError);
    const late = (err: unknown) => this.logger.warn({ err }, 'error while shutting down');
    process.on('uncaughtException', late);
    process.on('unhandledRejection', late);
    for (const step of this.steps.slice().reverse()) {
      await step.close().catch((err: unknown) => this.logger.warn({ err, step: step.name }, 'a shutdown step failed'));
    }
    process.exit(reason.kind === 'signal' ? 0 : 1);
  }
}

// `npx herald ...`: a client of the HTTP API (through the typed client in src/client), plus `keys create`, which writes
// to the database directly. Errors become the exit codes of errors.ts; see `herald --help`.
import { CommanderError } from 'commander';
import { loadCliConfig } from '../config/cli';
import { createContext } from './context';
import { ApiError, EXIT, UnreachableError, UsageError } from './errors';
import { buildProgram } from './program';

const RED = (s: string) => (process.stderr.isTTY && !loadCliConfig().noColor ? `\x1b[31m${s}\x1b[0m` : s);

function report(err: unknown): number {
  if (err instanceof CommanderError) {
    // Commander has printed the message (or the help, or the version) already.
    // `herald help <command>` ends as commander.help with exit code 0; a bare `herald` shows the help as an error.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || (err.code === 'commander.help' && err.exitCode === 0)) return EXIT.ok;
    return EXIT.usage;
  }
  if (err instanceof UsageError) {
    process.stderr.write(RED(`herald: ${err.message}\n`));
    return EXIT.usage;
  }
  if (err instanceof UnreachableError) {
    process.stderr.write(RED(`herald: ${err.message}\n`));
    return EXIT.unreachable;
  }
  if (err instanceof ApiError) {
    // Each detail on its own line, unless the message already says it (a single field at fault).
    const details = err.details
      .map((d: any) => (d && typeof d === 'object' && 'path' in d ? `${d.path}: ${d.message}` : JSON.stringify(d)))
      .filter((line) => !err.message.includes(line))
      .map((line) => `\n  ${line}`)
      .join('');
    process.stderr.write(RED(`herald: ${err.status} ${err.code}: ${err.message}${details}\n`));
    return EXIT.failed;
  }
  process.stderr.write(RED(`herald: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`));
  return EXIT.failed;
}

async function main(argv: string[]): Promise<number> {
  const ctx = createContext(loadCliConfig(), { stdout: process.stdout, stderr: process.stderr });
  try {
    await buildProgram(ctx, { stdout: process.stdout, stderr: process.stderr }).parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    return report(err);
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});

// `herald`'s commands, flags and help, on commander. Every command takes the global flags (--json, --api-url,
// --api-key) before or after its own.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import type { Context } from './context';
import { registerAccountCommands } from './commands/accounts';
import { registerPipelineCommands } from './commands/pipelines';
import { registerProviderCommands } from './commands/providers';
import { registerScheduleCommands } from './commands/schedules';
import { registerWebhookCommands } from './commands/webhooks';

const EXIT_CODES = `
Exit codes:
  0  done (run, watch: the pipeline published, or previewed in a dry run)
  1  run, watch: the pipeline ended partially_published, failed, rejected, cancelled or expired;
     validate: problems found; any command: the API answered with an error (4xx, 5xx)
  2  usage: unknown command or flag, missing or malformed argument, no API key
  3  the API (for keys create: the database) could not be reached

Environment: HERALD_API_URL (default http://127.0.0.1:3000, or http://HOST:PORT), HERALD_API_KEY (default: the
development key \`npm start\` wrote under DATA_DIR), NO_COLOR. --api-url and --api-key win over them.`;

function version(): string {
  return (JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
}

export function buildProgram(ctx: Context, io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): Command {
  const program = new Command('herald')
    .description('Herald from the command line: start and follow pipelines, decide, reschedule, and manage schedules, webhooks, accounts and keys, through the Herald API.')
    .version(version(), '-V, --version', 'print the version')
    .option('--json', "machine output: the API's JSON, one document per line (run and watch: one state per change)")
    .option('--api-url <url>', 'the Herald API (default HERALD_API_URL)')
    .option('--api-key <key>', 'the API key (default HERALD_API_KEY)')
    .helpCommand(true)
    .exitOverride()
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) })
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', EXIT_CODES);
  registerPipelineCommands(program, ctx);
  registerScheduleCommands(program, ctx);
  registerProviderCommands(program, ctx);
  registerWebhookCommands(program, ctx);
  registerAccountCommands(program, ctx);
  return program;
}

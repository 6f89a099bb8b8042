// Entry behind `npm start` (scripts/run.mjs starts the Temporal dev server first, unless TEMPORAL_ADDRESS is set).
// Embedded PostgreSQL unless DATABASE_URL, then migrations, the worker and the API in this one process.
import { boot } from '../bootstrap';

void boot({ command: 'npm start', worker: true, api: true, development: true }).then(({ config, devKey }) => {
  const apiUrl = `http://${config.host}:${config.port}`;
  // A browser cannot open "any address": listening on all of them, the console is at localhost.
  const consoleHost = ['0.0.0.0', '::', ''].includes(config.host) ? 'localhost' : config.host.includes(':') ? `[${config.host}]` : config.host;
  const lines = [
    '',
    '  Herald is running.',
    `  Console:      http://${consoleHost}:${config.port}/   (open it in a browser; sign in with the API key below)`,
    `  API:          ${apiUrl}   (docs: ${apiUrl}/docs)`,
    `  Temporal UI:  ${config.temporal.uiUrl}`,
    ...(config.workerMetricsPort ? [`  Metrics:      http://${config.host}:${config.workerMetricsPort}/metrics   (worker health: /health)`] : []),
    devKey ? `  API key:      ${devKey}   (tenant "dev"; development only)` : '  API keys:     from API_KEYS',
    '',
    `  Try:  HERALD_API_KEY=${devKey ?? '<key>'} npx herald run --topic "Why durable workflows beat cron jobs" --platform x --platform linkedin --dry-run`,
    '  Stop: Ctrl-C (unfinished pipelines continue on the next start)',
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
});

import pino, { type Logger } from 'pino';

// Secrets never reach a log line: these paths are replaced wherever they appear.
export const REDACT_PATHS = [
  'credentials',
  '*.credentials',
  'req.headers.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'accessToken',
  'refreshToken',
  '*.accessToken',
  '*.refreshToken',
  'password',
  '*.password',
  'url',
  'webhookUrl',
  '*.webhookUrl',
  'apiKey',
  '*.apiKey',
];

export function createLogger(opts: { level: string; format: 'json' | 'pretty'; name?: string }, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    name: opts.name ?? 'herald',
    level: opts.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    transport:
      opts.format === 'pretty' && !destination ? { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } } : undefined,
  };
  return destination ? pino(options, destination) : pino(options);
}

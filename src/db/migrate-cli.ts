// Entry: npm run migrate. Applies every pending migration to DATABASE_URL.
import { ConfigError, loadConfig } from '../config';
import { runMigrations } from './migrate';
import { createPool } from './pool';

async function main() {
  const config = loadConfig();
  if (!config.databaseUrl) throw new ConfigError('DATABASE_URL is required for `npm run migrate` (npm start migrates its embedded database itself)');
  const pool = createPool(config.databaseUrl, 1);
  try {
    const applied = await runMigrations(pool);
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'the schema is up to date');
  } finally {
    await pool.end();
  }
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : `migration failed: ${(err as Error).message}`);
  process.exit(1);
});

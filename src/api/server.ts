// Entry: npm run api. Needs DATABASE_URL; starts (and answers /health) while Temporal is down.
import { boot } from '../bootstrap';

void boot({ command: 'npm run api', name: 'herald-api', api: true, graceMs: 10_000 });

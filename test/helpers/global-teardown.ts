export default async function globalTeardown(): Promise<void> {
  // The database is kept for inspection after a run; the next run drops it.
}

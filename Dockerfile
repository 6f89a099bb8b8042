# syntax=docker/dockerfile:1
# One image for the API and the worker; docker-compose.yml picks the command.
#   docker build -t herald .
#   docker run --rm herald                                        # API (node --import tsx src/api/server.ts)
#   docker run --rm herald node --import tsx src/worker/main.ts   # worker (set WORKER_METRICS_PORT for its health check)

FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only: tsx (runs the TypeScript sources) is one; the swc, esbuild and resvg (title cards)
# binaries come as optional per-platform dependencies locked for linux x64 and arm64, so no install scripts are needed.
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

FROM node:24-slim AS runtime
# MALLOC_ARENA_MAX=2 and MALLOC_MMAP_THRESHOLD_=1048576 as npm start sets them for a worker: glibc's per-thread
# arenas, and its mmap threshold raised to the size of each large block freed, otherwise keep tens of MB more resident
# in a worker drawing title cards (README, "Running Herald at scale").
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=1048576
WORKDIR /app
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --chown=node:node package.json package-lock.json tsconfig.json ./
COPY --chown=node:node src ./src
COPY --chown=node:node migrations ./migrations
COPY --chown=node:node bin ./bin
COPY --chown=node:node scripts/build-console.mjs ./scripts/build-console.mjs
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
# The web console (served at /) is built here, once: the container starts the API directly, not through `npm run api`.
# esbuild and preact are production dependencies for this step.
RUN node scripts/build-console.mjs
EXPOSE 3000
# Healthy when /health answers 200 on the API's PORT or the worker's WORKER_METRICS_PORT, whichever this container
# runs. Node's own fetch: the slim image has no curl or wget.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=4 \
  CMD ["node", "-e", "const ports = [process.env.PORT || '3000', process.env.WORKER_METRICS_PORT].filter(Boolean); Promise.any(ports.map((p) => fetch(`http://127.0.0.1:${p}/health`, { signal: AbortSignal.timeout(4000) }).then((r) => { if (!r.ok) throw new Error(String(r.status)); }))).then(() => process.exit(0), () => process.exit(1));"]
CMD ["node", "--import", "tsx", "src/api/server.ts"]

# syntax=docker/dockerfile:1
# One image for the API and the worker; docker-compose.yml picks the command.
#   docker build -t herald .
#   docker run --rm herald                                        # API (node --import tsx src/api/server.ts)
#   docker run --rm herald node --import tsx src/worker/main.ts   # worker

FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only: tsx (runs the TypeScript sources) is one; the swc, esbuild and resvg (title cards)
# binaries come as optional per-platform dependencies locked for linux x64 and arm64, so no install scripts are needed.
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

FROM node:24-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --chown=node:node package.json package-lock.json tsconfig.json ./
COPY --chown=node:node src ./src
COPY --chown=node:node migrations ./migrations
COPY --chown=node:node bin ./bin
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 3000
CMD ["node", "--import", "tsx", "src/api/server.ts"]

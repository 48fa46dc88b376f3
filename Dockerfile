# ---- build: compile TypeScript and better-sqlite3's native addon -------------
FROM node:20-bookworm-slim AS build
WORKDIR /app

# better-sqlite3 builds from source with node-gyp when no prebuilt binary fits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*

COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
# tsc -p tsconfig.build.json: rootDir "." and outDir "dist", so src/server.ts
# becomes dist/src/server.js; scripts/build-web.mjs bundles the pages into dist/web.
RUN npm run build \
 && npm prune --omit=dev

# ---- runtime -----------------------------------------------------------------
FROM node:20-bookworm-slim AS runtime
WORKDIR /app

ENV NODE_ENV=production HOST=0.0.0.0 PORT=8000

COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The CLIs are compiled with the server (tsconfig.build.json), so the image can
# create its first admin; a server that starts with no users logs this command:
#   docker compose exec app1 node dist/scripts/users.js add <name> --role admin

# The default DATABASE_URL (sqlite:./data/wsgate.db) writes here.
RUN mkdir -p /app/data && chown node:node /app/data
VOLUME ["/app/data"]

USER node
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

CMD ["node", "dist/src/server.js"]

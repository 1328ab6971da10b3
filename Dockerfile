# The redis-gitops image: the `redis-gitops` bin (reconcile, plan, ...) on Node 20.
# Multi-stage: the build stage compiles TypeScript to lib/; the runtime stage has only
# production dependencies and lib/, and runs as a non-root user (uid/gid 1000, `node`).
# The CronJob (RedisReconciler construct) runs it with a read-only root filesystem.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY imports ./imports
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/lib ./lib
USER 1000:1000
ENTRYPOINT ["node", "lib/src/cli/bin.js"]
CMD ["--help"]

# syntax=docker/dockerfile:1
# The image of one task app (build arg APP): its esbuild bundle and only the production packages the
# bundle requires (dist/apps/$APP/package.json, written by tools/container/manifest.mjs), on Node 24
# LTS. Build it with `npx nx run <app>:container`; the ECS task definitions run it with the DAG's
# `--ds … --run-id …` after the entry point.

ARG NODE_IMAGE=node:24.11.1-bookworm-slim

FROM ${NODE_IMAGE} AS deps
ARG APP
WORKDIR /app
COPY dist/apps/${APP}/package.json ./
# The native DuckDB package for linux/x64 glibc, the ECS runtime platform (X86_64, Debian-based image).
RUN npm install --omit=dev --no-audit --no-fund --os=linux --cpu=x64 --libc=glibc \
    && npm cache clean --force

FROM ${NODE_IMAGE}
ARG APP
ENV NODE_ENV=production \
    TRIPS_WORK_DIR=/tmp/trips-work \
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY dist/apps/${APP}/ ./
# The node image's unprivileged user (uid and gid 1000): the task definitions run as 1000:1000.
USER 1000:1000
ENTRYPOINT ["node", "/app/main.js"]

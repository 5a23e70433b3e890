# syntax=docker/dockerfile:1
# Airflow for the Docker local stack (local/compose.yaml): the version and providers of
# dags/requirements.txt, Node 24 to run the apps' bundles (dist/apps/*, `npm run build` first) with
# their runtime packages for linux (local/.compose/package.json, written by local/compose.mjs).

FROM node:24.11.1-bookworm-slim AS bundles
WORKDIR /opt/trips
COPY local/.compose/package.json ./
RUN npm install --omit=dev --no-audit --no-fund --os=linux --cpu=x64 --libc=glibc \
    && npm cache clean --force
COPY dist/apps/ ./dist/apps/

FROM apache/airflow:3.3.1-python3.11
COPY dags/requirements.txt dags/constraints.txt /tmp/trips/
RUN pip install --no-cache-dir -r /tmp/trips/requirements.txt -c /tmp/trips/constraints.txt
COPY --from=bundles /usr/local/bin/node /usr/local/bin/node
COPY --from=bundles /opt/trips /opt/trips
ENV AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
# The official image's airflow user (uid 50000).
USER 50000

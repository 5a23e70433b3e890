import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { S3Client } from '@aws-sdk/client-s3';
import { S3ObjectStore, type ObjectStore } from '@trips/storage';
import { stopChild } from './process';

/** Static credentials the local S3 server accepts (it does not check them). */
export const LOCAL_AWS_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
export const LOCAL_AWS_REGION = 'us-east-1';

export interface LocalS3 {
  endpoint: string;
  port: number;
  pid: number;
  directory: string;
  /** True once the server process has ended (stopped, or killed from outside). */
  exited(): boolean;
  /** Called once when the server process ends, for whatever reason. */
  onExit(listener: (code: number | null, signal: NodeJS.Signals | null) => void): void;
  /** A store on this server with the local credentials. */
  store(): ObjectStore;
  /** The environment an app process needs to reach this server through the standard SDK settings (and, given buckets, to use them). */
  env(buckets?: { raw: string; lake: string }): Record<string, string>;
  close(): Promise<void>;
}

/**
 * The server runs in a child Node process (s3-server-child.cjs) for two reasons: s3rver signs its
 * list continuation tokens with DES, which OpenSSL 3 only offers with `--openssl-legacy-provider`
 * (a flag we do not want on our own processes), and `trips local up` needs it standalone anyway.
 * Signature checks are off: s3rver computes ListObjectsV2 signatures differently from SDK v3, and
 * a local stand-in with fixed credentials has nothing to protect. The child adds what the pipeline
 * needs of S3 that s3rver lacks (conditional writes, S3's XML escaping of keys).
 */
const CHILD_SCRIPT = join(__dirname, 's3-server-child.cjs');

/**
 * Starts an S3-compatible server (s3rver) on 127.0.0.1. With no `directory` the data lives in a
 * temporary folder removed on close; with one it persists there. `detached` leaves it running after
 * this process exits (for `trips local up`); stop it by its pid.
 */
export async function startS3Server(opts: { directory?: string; port?: number; buckets?: string[]; detached?: boolean } = {}): Promise<LocalS3> {
  const temporary = opts.directory === undefined;
  const directory = opts.directory ?? (await mkdtemp(join(tmpdir(), 'trips-s3-')));
  await mkdir(directory, { recursive: true });
  const args = ['--openssl-legacy-provider', CHILD_SCRIPT, require.resolve('@20minutes/s3rver'), JSON.stringify({ port: opts.port ?? 0, directory, buckets: opts.buckets ?? [] })];
  // Attached servers get an IPC channel: they stop when this process dies, however it dies.
  const child = spawn(process.execPath, args, { stdio: opts.detached ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe', 'ipc'], detached: opts.detached ?? false });
  const port = await readPort(child);
  // The channel only tells the server when we are gone; it must not keep this process alive.
  child.channel?.unref();
  if (opts.detached) {
    child.stdout?.destroy();
    child.stderr?.destroy();
    child.unref();
  }
  const endpoint = `http://127.0.0.1:${port}`;
  const clients: S3Client[] = [];
  return {
    endpoint,
    port,
    pid: child.pid as number,
    directory,
    store() {
      const client = new S3Client({ region: LOCAL_AWS_REGION, endpoint, forcePathStyle: true, credentials: LOCAL_AWS_CREDENTIALS });
      clients.push(client);
      return new S3ObjectStore({ region: LOCAL_AWS_REGION, endpoint }, client);
    },
    env(buckets) {
      return { ...localS3Env(endpoint), ...(buckets ? { TRIPS_RAW_BUCKET: buckets.raw, TRIPS_LAKE_BUCKET: buckets.lake } : {}) };
    },
    exited: () => child.exitCode !== null || child.signalCode !== null,
    onExit(listener) {
      child.once('exit', (code, signal) => listener(code, signal));
    },
    async close() {
      clients.forEach((c) => c.destroy());
      await stopChild(child, 'SIGTERM');
      if (temporary) await rm(directory, { recursive: true, force: true });
    },
  };
}

/** The standard AWS SDK settings that point an app at a local S3 server. */
export function localS3Env(endpoint: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_REGION: LOCAL_AWS_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_AWS_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_AWS_CREDENTIALS.secretAccessKey,
  };
}

function readPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr?.on('data', (d) => (err += d));
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.once('line', (line) => {
      lines.close();
      resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once('exit', (code) => reject(new Error(`local S3 server exited with code ${code}: ${err}`)));
  });
}

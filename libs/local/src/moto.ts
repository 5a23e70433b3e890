import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from './ports';
import { stopChild } from './process';
import { awsToolsPython } from './python';

export interface LocalMoto {
  endpoint: string;
  /** Standard SDK settings pointing every AWS client at this server. */
  env(): Record<string, string>;
  close(): Promise<void>;
}

export const MOTO_REGION = 'eu-central-1';
export const MOTO_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

/**
 * moto's server (KMS, Secrets Manager, SNS, … over the real AWS APIs) on a free port of 127.0.0.1,
 * from the .venv/aws environment; undefined when Python is missing (the caller skips).
 */
export async function startMoto(): Promise<LocalMoto | undefined> {
  const python = awsToolsPython();
  if (!python) return undefined;
  const port = await freePort();
  const child = spawn(join(python, '..', 'moto_server'), ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output = (output + d).slice(-5000)));
  const endpoint = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`moto_server exited (${child.exitCode}): ${output}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (i > 300) throw new Error(`moto_server did not answer on ${endpoint}: ${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    env: () => ({ AWS_ENDPOINT_URL: endpoint, AWS_REGION: MOTO_REGION, AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey }),
    close: () => stopChild(child, 'SIGTERM'),
  };
}

/**
 * moto's server as a background process of its own (for `trips local up`), detached so that it
 * outlives the caller; stop it by its pid. Undefined without Python 3.10+.
 */
export async function startMotoProcess(): Promise<{ pid: number; port: number; endpoint: string } | undefined> {
  const python = awsToolsPython();
  if (!python) return undefined;
  const port = await freePort();
  const child = spawn(join(python, '..', 'moto_server'), ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore', detached: true });
  child.unref();
  const endpoint = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`moto_server exited (${child.exitCode}) before it listened`);
    try {
      if ((await fetch(`${endpoint}/moto-api/`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i > 300) throw new Error(`moto_server did not answer on ${endpoint}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { pid: child.pid as number, port, endpoint };
}

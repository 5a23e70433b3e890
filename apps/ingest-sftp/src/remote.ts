import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { ExternalError } from '@trips/core';
import { Client, type ConnectConfig, type FileEntryWithStats, type SFTPWrapper, type Stats } from 'ssh2';

export interface RemoteFile {
  /** Absolute remote path. */
  path: string;
  /** Path relative to the listed root, '/'-separated. */
  relative: string;
  size: number;
  /** Modification time, whole seconds since the epoch (SFTP's resolution). */
  mtime: number;
}

export interface ConnectOptions {
  host: string;
  port: number;
  username: string;
  password?: string;
  privateKey?: string;
  passphrase?: string;
  /** `SHA256:<base64>` the server's host key must have. */
  hostKeySha256: string;
  readyTimeoutMs?: number;
}

/** The server's host key did not match the configured fingerprint: nothing was sent or read. */
export class HostKeyMismatchError extends ExternalError {}

/** A permission error from the server (SFTP status PERMISSION_DENIED). */
export class PermissionDeniedError extends ExternalError {}

const STATUS_PERMISSION_DENIED = 3;

/**
 * An SFTP session on a server whose host key was verified against a configured fingerprint before
 * authentication (ssh2's hostVerifier runs during the key exchange, so a mismatch ends the
 * connection before any credential or file request is sent).
 */
export class Remote {
  private constructor(
    private readonly client: Client,
    private readonly sftp: SFTPWrapper,
  ) {}

  static async connect(o: ConnectOptions): Promise<Remote> {
    const client = new Client();
    let seen: string | undefined;
    const config: ConnectConfig = {
      host: o.host,
      port: o.port,
      username: o.username,
      password: o.password,
      privateKey: o.privateKey,
      passphrase: o.passphrase,
      readyTimeout: o.readyTimeoutMs ?? 20_000,
      keepaliveInterval: 10_000,
      hostVerifier: (key: Buffer) => {
        seen = `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
        return seen === o.hostKeySha256;
      },
    };
    const where = `sftp://${o.username}@${o.host}:${o.port}`;
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', (e) => {
        if (seen !== undefined && seen !== o.hostKeySha256) {
          reject(
            new HostKeyMismatchError(
              `${where}: the server's host key is ${seen}, not the configured TRIPS_SFTP_HOST_KEY_SHA256 ${o.hostKeySha256}; refusing to connect (check the fingerprint with the server's owner)`,
            ),
          );
        } else reject(new ExternalError(`${where}: could not connect: ${e.message}`, { cause: e }));
      });
      client.connect(config);
    });
    const sftp = await new Promise<SFTPWrapper>((resolve, reject) => client.sftp((e, s) => (e ? reject(new ExternalError(`${where}: no SFTP subsystem: ${e.message}`)) : resolve(s))));
    return new Remote(client, sftp);
  }

  /** Every regular file under `root` (recursively) whose name `matches`, sorted by path. */
  async list(root: string, matches: (name: string) => boolean): Promise<RemoteFile[]> {
    const files: RemoteFile[] = [];
    const walk = async (dir: string): Promise<void> => {
      const entries = await this.call<FileEntryWithStats[]>(`list ${dir}`, (cb) => this.sftp.readdir(dir, cb));
      for (const e of entries.sort((a, b) => a.filename.localeCompare(b.filename))) {
        const path = posix.join(dir, e.filename);
        if (e.attrs.isDirectory()) await walk(path);
        else if (e.attrs.isFile() && matches(e.filename)) {
          files.push({ path, relative: posix.relative(root, path), size: e.attrs.size, mtime: e.attrs.mtime });
        }
      }
    };
    await walk(root);
    return files;
  }

  async stat(path: string): Promise<{ size: number; mtime: number }> {
    const st = await this.call<Stats>(`stat ${path}`, (cb) => this.sftp.stat(path, cb));
    return { size: st.size, mtime: st.mtime };
  }

  /**
   * Opens the file first (so a permission error is a clear PermissionDeniedError, not a stream
   * error), then streams it sequentially in 256 KiB reads.
   */
  async read(path: string): Promise<Readable> {
    const handle = await this.call<Buffer>(`open ${path}`, (cb) => this.sftp.open(path, 'r', cb));
    return this.sftp.createReadStream(path, { handle, highWaterMark: 256 * 1024, autoClose: true });
  }

  async rename(from: string, to: string): Promise<void> {
    await this.mkdirs(posix.dirname(to));
    await this.call<void>(`rename ${from} to ${to}`, (cb) => this.sftp.rename(from, to, cb));
  }

  async remove(path: string): Promise<void> {
    await this.call<void>(`remove ${path}`, (cb) => this.sftp.unlink(path, cb));
  }

  private async mkdirs(dir: string): Promise<void> {
    if (dir === '/' || dir === '.') return;
    try {
      await this.stat(dir);
      return;
    } catch {
      // missing: create the parent first
    }
    await this.mkdirs(posix.dirname(dir));
    await this.call<void>(`mkdir ${dir}`, (cb) => this.sftp.mkdir(dir, cb)).catch(async (e) => {
      // Created by someone else meanwhile is fine.
      if (!(await this.stat(dir).then(() => true, () => false))) throw e;
    });
  }

  close(): void {
    this.client.end();
  }

  private call<T>(what: string, fn: (cb: (err: Error | null | undefined, value: T) => void) => void): Promise<T> {
    return new Promise((resolve, reject) =>
      fn((err, value) => {
        if (!err) return resolve(value);
        const code = (err as { code?: number }).code;
        if (code === STATUS_PERMISSION_DENIED) reject(new PermissionDeniedError(`${what}: permission denied`));
        else reject(new ExternalError(`${what}: ${err.message}`, { cause: err }));
      }),
    );
  }
}

/** A matcher for TRIPS_SFTP_PATTERN: globs on the file name (`*`, `?`), comma-separated alternatives. */
export function namePattern(pattern: string): (name: string) => boolean {
  const regexes = pattern
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i'));
  return (name) => regexes.some((r) => r.test(name));
}

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
  /**
   * How long any one SFTP request (list, stat, open, rename…) or a pause in a file's data may take
   * before the server is taken as stalled: the request fails naming its path, the connection is
   * closed.
   */
  operationTimeoutMs?: number;
}

/** The server did not answer a request in time (or the connection ended with requests unanswered). */
export class StalledError extends ExternalError {}

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
  /** Requests waiting for an answer, failed all at once when the connection ends. */
  private readonly pending = new Set<(e: Error) => void>();
  private closedBecause?: string;

  private constructor(
    private readonly client: Client,
    private readonly sftp: SFTPWrapper,
    private readonly where: string,
    private readonly timeoutMs: number,
  ) {
    const ended = (why: string) => () => {
      this.closedBecause ??= why;
      for (const fail of [...this.pending]) fail(new StalledError(`${this.where}: the connection ${why} with a request unanswered`));
    };
    client.on('close', ended('closed'));
    client.on('end', ended('ended'));
  }

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
      // `on`, not `once`: a client that gave up (handshake timeout) can still report the socket's end
      // as a second error, which with no listener would crash the process; the first one decides.
      client.on('error', (e) => {
        client.end();
        if (seen !== undefined && seen !== o.hostKeySha256) {
          reject(
            new HostKeyMismatchError(
              `${where}: the server's host key is ${seen}, not the configured TRIPS_SFTP_HOST_KEY_SHA256 ${o.hostKeySha256}; refusing to connect (check the fingerprint with the server's owner)`,
            ),
          );
        } else reject(new ExternalError(`${where}: could not connect: ${e.message}`, { cause: e }));
      });
      // Without ssh2's optional native crypto module (not built where install scripts do not run: npm 11's
      // default, the images) ssh2 writes each packet in pieces, and Nagle's algorithm then holds every
      // read request for a delayed ACK: 0.5 MB/s instead of 100+. Requests go out at once.
      client.once('connect', () => client.setNoDelay(true));
      client.connect(config);
    });
    const sftp = await new Promise<SFTPWrapper>((resolve, reject) => client.sftp((e, s) => (e ? reject(new ExternalError(`${where}: no SFTP subsystem: ${e.message}`)) : resolve(s))));
    return new Remote(client, sftp, where, o.operationTimeoutMs ?? 60_000);
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
    const stream = this.sftp.createReadStream(path, { handle, highWaterMark: 256 * 1024, autoClose: true });
    // A transfer that stops moving fails, naming the file, instead of waiting forever.
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        stream.destroy(new StalledError(`${this.where}: reading ${path}: no data for ${Math.round(this.timeoutMs / 1000)} s; the server stopped answering`));
        this.client.end();
      }, this.timeoutMs);
    };
    arm();
    stream.on('data', arm);
    // Done with the stream's end or its error, not only its close: ssh2 fails the stream when the
    // connection ends, but then waits for the dead connection to close the file's handle before it
    // emits 'close', so a timer left for that outlived the pass (a one-shot task waited a minute
    // to exit after a dropped connection).
    const done = () => clearTimeout(timer);
    for (const event of ['end', 'error', 'close']) stream.once(event, done);
    return stream;
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

  /**
   * One SFTP request, answered or failed within the operation timeout; a request the server leaves
   * unanswered fails naming it and closes the connection (a later attempt reconnects).
   */
  private call<T>(what: string, fn: (cb: (err: Error | null | undefined, value: T) => void) => void): Promise<T> {
    if (this.closedBecause) return Promise.reject(new StalledError(`${this.where}: ${what}: the connection ${this.closedBecause}`));
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = (e: Error | undefined, value?: T) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.pending.delete(fail);
        if (e) reject(e);
        else resolve(value as T);
      };
      const fail = (e: Error) => finish(e);
      this.pending.add(fail);
      const timer = setTimeout(() => {
        finish(new StalledError(`${this.where}: ${what}: no answer within ${Math.round(this.timeoutMs / 1000)} s; the server stopped answering`));
        this.client.end();
      }, this.timeoutMs);
      fn((err, value) => {
        if (!err) return finish(undefined, value);
        const code = (err as { code?: number }).code;
        if (code === STATUS_PERMISSION_DENIED) finish(new PermissionDeniedError(`${what}: permission denied`));
        else finish(new ExternalError(`${what}: ${err.message}`, { cause: err }));
      });
    });
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

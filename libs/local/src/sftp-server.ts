import { createHash } from 'node:crypto';
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, type Stats } from 'node:fs';
import { join, normalize, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Connection, SFTPWrapper } from 'ssh2';
import { startDetachedProcess } from './process';

type Ssh2 = typeof import('ssh2');
/**
 * ssh2, loaded when a server starts: every `trips` command imports this module, few serve SFTP
 * (ssh2 takes 40 ms to load). A CommonJS package whose exports Node's import() gives as `default`
 * only; a bundle's or a test's import() gives them by name too.
 */
async function ssh2(): Promise<Ssh2> {
  const m = (await import('ssh2')) as Ssh2 & { default?: Ssh2 };
  return m.default ?? m;
}

export interface SftpServerOptions {
  /** Local folder served as the remote root ('/'). */
  root: string;
  port?: number;
  username?: string;
  password?: string;
  /** Public key (OpenSSH format) accepted for `username` besides the password. */
  authorizedKey?: string;
  /** Remote paths ('/a/b.csv') whose OPEN is refused with PERMISSION_DENIED. */
  deny?: string[];
  /** Cap on bytes served per second over all reads (to make a transfer slow enough to interrupt). */
  bytesPerSecond?: number;
  /** Drop the client's connection once this many bytes have been read on it (once per server). */
  dropAfterBytes?: number;
  /** Remote paths ('/inbox/slow') whose requests are never answered: a server that hangs. */
  stall?: string[];
}

export interface LocalSftp {
  host: string;
  port: number;
  username: string;
  password: string;
  /** `SHA256:<base64>` of the host key, as OpenSSH prints it. */
  hostKeyFingerprint: string;
  /** Bytes served by READ requests so far. */
  bytesServed(): number;
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/** The OpenSSH fingerprint of a public key blob: SHA256, base64 without padding. */
export function sshFingerprint(publicKeyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(publicKeyBlob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * A fresh ed25519 host key. ssh2 now and then cannot parse back a key it just generated
 * ("Malformed OpenSSH public key"): such a key is thrown away and another made.
 */
function newHostKey(utils: Ssh2['utils']) {
  for (let attempt = 1; ; attempt++) {
    const hostKey = utils.generateKeyPairSync('ed25519');
    const parsedHostKey = utils.parseKey(hostKey.public);
    if (!(parsedHostKey instanceof Error)) return { hostKey, parsedHostKey };
    if (attempt >= 10) throw parsedHostKey;
  }
}

/**
 * A real SFTP server (ssh2's server mode) serving a local folder, for tests and the local stack:
 * password or public-key login, listing, stat, reading, rename, remove and mkdir; a fresh ed25519
 * host key per server. Options make it refuse chosen files, serve slowly, or drop a connection
 * mid-transfer.
 */
export async function startSftpServer(opts: SftpServerOptions): Promise<LocalSftp> {
  const { Server, utils } = await ssh2();
  const { hostKey, parsedHostKey } = newHostKey(utils);
  const fingerprint = sshFingerprint(parsedHostKey.getPublicSSH());
  const authorized = opts.authorizedKey ? utils.parseKey(opts.authorizedKey) : undefined;
  if (authorized instanceof Error) throw authorized;
  const username = opts.username ?? 'trips';
  const password = opts.password ?? 'trips-sftp';
  const root = resolve(opts.root);
  let served = 0;
  let accepted = 0;
  let dropped = false;
  const clients = new Set<Connection>();

  const server = new Server({ hostKeys: [hostKey.private] }, (client) => {
    // As ingest-sftp's client does: without ssh2's native module, Nagle stalls every reply (the method is missing from @types/ssh2).
    (client as unknown as { setNoDelay(on: boolean): void }).setNoDelay(true);
    accepted += 1;
    clients.add(client);
    client.on('close', () => clients.delete(client));
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      if (ctx.username !== username) return ctx.reject();
      if (ctx.method === 'password' && ctx.password === password) return ctx.accept();
      if (ctx.method === 'publickey' && authorized && ctx.key.algo === authorized.type && ctx.key.data.equals(authorized.getPublicSSH())) {
        if (!ctx.signature) return ctx.accept();
        if (ctx.blob && authorized.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true) return ctx.accept();
      }
      ctx.reject(['password', 'publickey']);
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        accept().on('sftp', (acceptSftp) => {
          let readOnConnection = 0;
          serve(acceptSftp(), utils.sftp, {
            root,
            deny: new Set(opts.deny ?? []),
            stall: new Set(opts.stall ?? []),
            onRead: async (bytes) => {
              served += bytes;
              readOnConnection += bytes;
              if (opts.bytesPerSecond) await new Promise((r) => setTimeout(r, (bytes / opts.bytesPerSecond!) * 1000));
              if (opts.dropAfterBytes !== undefined && !dropped && readOnConnection >= opts.dropAfterBytes) {
                dropped = true;
                client.end();
                return false;
              }
              return true;
            },
          });
        });
      });
    });
  });

  const port = await new Promise<number>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, '127.0.0.1', () => ok((server.address() as { port: number }).port));
  });
  return {
    host: '127.0.0.1',
    port,
    username,
    password,
    hostKeyFingerprint: fingerprint,
    bytesServed: () => served,
    connections: () => accepted,
    close: () =>
      new Promise((ok) => {
        for (const c of clients) c.end();
        server.close(() => ok());
      }),
  };
}

interface ServeOptions {
  root: string;
  deny: Set<string>;
  stall: Set<string>;
  /** Called after each READ with its size; false means the connection was dropped. */
  onRead(bytes: number): Promise<boolean>;
}

function serve(sftp: SFTPWrapper, codes: Ssh2['utils']['sftp'], o: ServeOptions): void {
  const { STATUS_CODE, OPEN_MODE } = codes;
  const handles = new Map<number, { fd?: number; dir?: string; listed?: boolean }>();
  let next = 0;
  const newHandle = (h: { fd?: number; dir?: string }) => {
    const id = next++;
    handles.set(id, h);
    const buf = Buffer.alloc(4);
    buf.writeUInt32BE(id);
    return buf;
  };
  const handleOf = (buf: Buffer) => (buf.length === 4 ? handles.get(buf.readUInt32BE(0)) : undefined);
  const local = (remote: string) => {
    const path = join(o.root, normalize(`/${remote}`));
    return relative(o.root, path).startsWith('..') ? o.root : path;
  };
  const attrs = (st: Stats) => ({ mode: st.mode, uid: st.uid, gid: st.gid, size: st.size, atime: Math.floor(st.atimeMs / 1000), mtime: Math.floor(st.mtimeMs / 1000) });
  const fail = (reqid: number, e: unknown) => {
    const code = (e as NodeJS.ErrnoException).code;
    sftp.status(reqid, code === 'ENOENT' ? STATUS_CODE.NO_SUCH_FILE : code === 'EACCES' ? STATUS_CODE.PERMISSION_DENIED : STATUS_CODE.FAILURE, String((e as Error).message));
  };

  sftp.on('REALPATH', (reqid, path) => {
    const p = normalize(`/${path}`).replace(/\/+$/, '') || '/';
    sftp.name(reqid, [{ filename: p, longname: p, attrs: {} as never }]);
  });
  const stalled = (path: string) => o.stall.has(normalize(`/${path}`).replace(/\/+$/, '') || '/');
  const stat = (reqid: number, path: string) => {
    if (stalled(path)) return;
    try {
      sftp.attrs(reqid, attrs(statSync(local(path))));
    } catch (e) {
      fail(reqid, e);
    }
  };
  sftp.on('STAT', stat);
  sftp.on('LSTAT', stat);
  sftp.on('FSTAT', (reqid, handle) => {
    const h = handleOf(handle);
    if (h?.fd === undefined) return sftp.status(reqid, STATUS_CODE.FAILURE);
    try {
      const st = statSync(`/proc/self/fd/${h.fd}`);
      sftp.attrs(reqid, attrs(st));
    } catch (e) {
      fail(reqid, e);
    }
  });
  sftp.on('OPENDIR', (reqid, path) => {
    if (stalled(path)) return;
    try {
      if (!statSync(local(path)).isDirectory()) return sftp.status(reqid, STATUS_CODE.FAILURE, 'not a directory');
      sftp.handle(reqid, newHandle({ dir: local(path) }));
    } catch (e) {
      fail(reqid, e);
    }
  });
  sftp.on('READDIR', (reqid, handle) => {
    const h = handleOf(handle);
    if (!h?.dir) return sftp.status(reqid, STATUS_CODE.FAILURE);
    if (h.listed) return sftp.status(reqid, STATUS_CODE.EOF);
    h.listed = true;
    // lstat, as OpenSSH's server does: a symlink (even a looping one) is listed as a link, not followed.
    const names = readdirSync(h.dir).map((name) => {
      const st = lstatSync(join(h.dir as string, name));
      const kind = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : '-';
      return { filename: name, longname: `${kind}rw-r--r-- 1 trips trips ${st.size} Jan 1 00:00 ${name}`, attrs: attrs(st) };
    });
    sftp.name(reqid, names as never);
  });
  sftp.on('OPEN', (reqid, filename, flags) => {
    const remote = normalize(`/${filename}`);
    if (stalled(remote)) return;
    if (o.deny.has(remote)) return sftp.status(reqid, STATUS_CODE.PERMISSION_DENIED, `permission denied: ${remote}`);
    try {
      const mode = flags & OPEN_MODE.WRITE ? (flags & OPEN_MODE.APPEND ? 'a' : 'w') : 'r';
      sftp.handle(reqid, newHandle({ fd: openSync(local(remote), mode) }));
    } catch (e) {
      fail(reqid, e);
    }
  });
  sftp.on('READ', (reqid, handle, offset, length) => {
    const h = handleOf(handle);
    if (h?.fd === undefined) return sftp.status(reqid, STATUS_CODE.FAILURE);
    const buf = Buffer.alloc(length);
    const n = readSync(h.fd, buf, 0, length, offset);
    if (n === 0) return sftp.status(reqid, STATUS_CODE.EOF);
    void o.onRead(n).then((alive) => {
      if (alive) sftp.data(reqid, buf.subarray(0, n));
    });
  });
  sftp.on('CLOSE', (reqid, handle) => {
    const h = handleOf(handle);
    if (h?.fd !== undefined) closeSync(h.fd);
    if (h) handles.delete(handle.readUInt32BE(0));
    sftp.status(reqid, h ? STATUS_CODE.OK : STATUS_CODE.FAILURE);
  });
  sftp.on('RENAME', (reqid, from, to) => {
    try {
      renameSync(local(from), local(to));
      sftp.status(reqid, STATUS_CODE.OK);
    } catch (e) {
      fail(reqid, e);
    }
  });
  sftp.on('REMOVE', (reqid, path) => {
    try {
      rmSync(local(path));
      sftp.status(reqid, STATUS_CODE.OK);
    } catch (e) {
      fail(reqid, e);
    }
  });
  sftp.on('MKDIR', (reqid, path) => {
    try {
      mkdirSync(local(path));
      sftp.status(reqid, STATUS_CODE.OK);
    } catch (e) {
      fail(reqid, e);
    }
  });
}

export interface SftpServerProcess {
  pid: number;
  port: number;
  username: string;
  password: string;
  hostKeyFingerprint: string;
}

/**
 * Starts the SFTP server in a process of its own (sftp-main.ts through tsx), detached so that it
 * outlives the caller (`trips local up`); stop it by its pid.
 */
export async function startSftpServerProcess(root: string): Promise<SftpServerProcess> {
  mkdirSync(root, { recursive: true });
  const tsx = pathToFileURL(require.resolve('tsx')).href;
  const { pid, ready } = await startDetachedProcess<Omit<SftpServerProcess, 'pid'>>('the SFTP server', process.execPath, ['--import', tsx, join(__dirname, 'sftp-main.ts'), root], {
    env: { ...process.env, TSX_TSCONFIG_PATH: join(__dirname, '..', '..', '..', 'tsconfig.json') },
  });
  return { pid, ...ready };
}

/** The settings ingest-sftp needs to reach a local SFTP server, the folder it lists being `dir`. */
export function sftpSettings(
  s: { host?: string; port: number; username: string; password: string; hostKeyFingerprint: string },
  dir: string,
  waits?: { minAgeSeconds: number; stableSeconds: number },
): Record<string, string> {
  return {
    TRIPS_SFTP_HOST: s.host ?? '127.0.0.1',
    TRIPS_SFTP_PORT: String(s.port),
    TRIPS_SFTP_USER: s.username,
    TRIPS_SFTP_PASSWORD: s.password,
    TRIPS_SFTP_HOST_KEY_SHA256: s.hostKeyFingerprint,
    TRIPS_SFTP_DIR: dir,
    ...(waits ? { TRIPS_SFTP_MIN_AGE_SECONDS: String(waits.minAgeSeconds), TRIPS_SFTP_STABLE_SECONDS: String(waits.stableSeconds) } : {}),
  };
}

import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, open, readFile, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ExternalError, isProcessAlive } from '@trips/core';
import { ObjectStore, type ObjectInfo } from './object-store';

/**
 * The names the local S3 server (s3rver's filesystem store) gives an object's files: the bytes, their
 * MD5 (the ETag) and the metadata (content type, x-amz-meta-*). The file store keeps the same
 * layout, so that a state folder's lake reads the same through either.
 */
const OBJECT = '._S3rver_object';
const MD5 = '._S3rver_object.md5';
const METADATA = '._S3rver_metadata.json';

/** S3's limit on a key's length, in UTF-8 bytes. */
const MAX_KEY_BYTES = 1024;
/** A file name's limit on Linux and macOS, in bytes; an object's last key part carries the longest suffix. */
const MAX_NAME_BYTES = 255;

/** How long a write waits for another write of the same key to finish before it gives up. */
const LOCK_WAIT_MS = 30_000;
/** A key's lock file older than this whose process is gone was left by a killed writer. */
const STALE_LOCK_MS = 10_000;

let writes = 0;

/**
 * The object store as a folder: `<root>/<bucket>/<key>` in the local S3 server's layout, read and
 * written by the task's own process with file copies instead of HTTP. A local run with
 * `--store files` uses it (docs/local-stack.md); everything else, and every test of the S3 path, uses
 * the S3 API.
 *
 * It keeps what the pipeline relies on of S3, and refuses what S3 refuses:
 * - an object appears whole or not at all: its bytes go to a temporary file renamed over the old
 *   one (readers holding the old one keep reading it);
 * - writes to one key, and reads of a key's version, are one at a time across processes (a lock
 *   file per key), so conditional writes (`putIf`) are atomic as S3's are;
 * - the ETag is the MD5 of the bytes in quotes, as S3's is for an object written in one part;
 * - a missing bucket is NoSuchBucket, a missing key NoSuchKey, a range past the end InvalidRange;
 *   a bucket name breaking S3's rules is refused at creation, a key over 1,024 bytes at writing;
 * - listings come in S3's order (the keys' UTF-8 bytes).
 * What a folder cannot hold it refuses, naming the key: a key with an empty, `.` or `..` part (S3
 * takes them; the local S3 server cannot hold them either), or a part too long for a file name.
 */
export class FileObjectStore extends ObjectStore {
  constructor(readonly root: string) {
    super();
  }

  async *list(bucket: string, prefix: string): AsyncGenerator<ObjectInfo> {
    const top = await this.bucketDir(bucket, `list s3://${bucket}/${prefix}`);
    const from = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    // No stored key has such a part: nothing can match.
    if (from !== '' && !from.slice(0, -1).split('/').every(storable)) return;
    const keys: string[] = [];
    await walk(join(top, from), from, prefix, keys);
    keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const key of keys) {
      const o = await info(join(top, ...key.split('/')), key);
      if (o) yield o;
    }
  }

  async head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    const path = await this.objectPath(bucket, key, `head s3://${bucket}/${key}`);
    return this.locked(path, async () => {
      const o = await info(path, key);
      return o && { ...o, metadata: userMetadata(await readMetadata(path)) };
    }, true);
  }

  async getStream(bucket: string, key: string): Promise<Readable> {
    const what = `get s3://${bucket}/${key}`;
    const file = await openObject(await this.objectPath(bucket, key, what), what);
    return file.createReadStream();
  }

  async getRange(bucket: string, key: string, start: number, end: number): Promise<Buffer> {
    const what = `get bytes ${start}-${end} of s3://${bucket}/${key}`;
    if (start < 0 || end < start) throw new Error(`getRange: bad range ${start}-${end} of s3://${bucket}/${key}`);
    const file = await openObject(await this.objectPath(bucket, key, what), what);
    try {
      const { size } = await file.stat();
      if (start >= size) throw failure(what, 'InvalidRange', 'The requested range is not satisfiable');
      // S3 answers a range that runs past the end with the bytes up to the end.
      const body = Buffer.alloc(Math.min(end, size - 1) - start + 1);
      const { bytesRead } = await file.read(body, 0, body.length, start);
      if (bytesRead !== end - start + 1) throw new ExternalError(`${what}: ${bytesRead} bytes came back, not ${end - start + 1}`);
      return body;
    } finally {
      await file.close();
    }
  }

  async put(bucket: string, key: string, body: Readable | Buffer | string, contentType?: string, metadata?: Record<string, string>): Promise<void> {
    const what = `put s3://${bucket}/${key}`;
    const path = await this.objectPath(bucket, key, what, true);
    await failed(what, this.locked(path, () => write(path, body, storedMetadata(contentType, metadata))));
  }

  async putIf(bucket: string, key: string, body: string, condition: { ifNoneMatch: '*' } | { ifMatch: string }): Promise<string | undefined> {
    const what = `conditional put s3://${bucket}/${key}`;
    const path = await this.objectPath(bucket, key, what, true);
    return failed(
      what,
      this.locked(path, async () => {
        const current = await etagOf(path);
        if ('ifNoneMatch' in condition ? current !== undefined : current !== condition.ifMatch) return undefined;
        return write(path, body, storedMetadata('application/json'));
      }),
    );
  }

  async getVersioned(bucket: string, key: string): Promise<{ text: string; etag: string } | undefined> {
    const path = await this.objectPath(bucket, key, `get s3://${bucket}/${key}`);
    return this.locked(path, async () => {
      const etag = await etagOf(path);
      return etag === undefined ? undefined : { text: await readFile(path + OBJECT, 'utf8'), etag };
    }, true);
  }

  async copy(bucket: string, fromKey: string, toKey: string): Promise<void> {
    const what = `copy s3://${bucket}/${fromKey} to ${toKey}`;
    const from = await this.objectPath(bucket, fromKey, what);
    const to = await this.objectPath(bucket, toKey, what, true);
    // The source's bytes, ETag and metadata as one version: copied to a temporary file beside the
    // target under the source's lock, then put in place under the target's. The kernel copies the
    // bytes and the source's MD5 is the copy's, as S3's CopyObject keeps it: landing a 47 MB batch
    // streamed and hashed it a second time.
    const temporary = `${to}${OBJECT}.writing-${process.pid}-${++writes}`;
    const missing = () => failure(what, 'NoSuchKey', 'The specified key does not exist.');
    const copying = async () => {
      const source = await this.locked(
        from,
        async () => {
          await stat(from + OBJECT).catch((e: NodeJS.ErrnoException) => {
            throw e.code === 'ENOENT' ? missing() : e;
          });
          await mkdir(dirname(to), { recursive: true });
          await copyFile(from + OBJECT, temporary);
          return { md5: await md5Of(from), metadata: await readMetadata(from) };
        },
        true,
      );
      const { md5, metadata } = source;
      if (md5 === undefined) throw missing();
      await this.locked(to, () => place(to, temporary, md5, metadata));
    };
    await failed(what, copying()).catch(async (e: unknown) => {
      await rm(temporary, { force: true });
      throw e;
    });
  }

  async download(bucket: string, key: string, path: string): Promise<void> {
    const what = `get s3://${bucket}/${key}`;
    const from = await this.objectPath(bucket, key, what);
    await mkdir(dirname(path), { recursive: true });
    await copyFile(from + OBJECT, path).catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'ENOENT' ? failure(what, 'NoSuchKey', 'The specified key does not exist.') : new ExternalError(`${what} failed: ${e.message}`, { cause: e });
    });
  }

  async delete(bucket: string, key: string): Promise<void> {
    const path = await this.objectPath(bucket, key, `delete s3://${bucket}/${key}`);
    const top = join(this.root, bucket);
    await this.locked(path, () => Promise.all([OBJECT, MD5, METADATA].map((s) => rm(path + s, { force: true }))), true);
    // S3 has no folders: a folder left empty would still be listed by nothing, but is removed as S3 would have none.
    for (let dir = dirname(path); dir.length > top.length; dir = dirname(dir)) {
      if (!(await rmdir(dir).then(() => true, () => false))) break;
    }
  }

  async deleteKeys(bucket: string, keys: string[]): Promise<number> {
    for (const key of keys) await this.delete(bucket, key);
    return keys.length;
  }

  async ensureBucket(bucket: string): Promise<void> {
    const problem = bucketNameProblem(bucket);
    if (problem) throw failure(`create bucket ${bucket}`, 'InvalidBucketName', problem);
    await mkdir(join(this.root, bucket), { recursive: true });
  }

  /** The bucket's folder; NoSuchBucket when there is none. */
  private async bucketDir(bucket: string, what: string): Promise<string> {
    const dir = join(this.root, bucket);
    if (bucketNameProblem(bucket) || !(await stat(dir).then((s) => s.isDirectory(), () => false))) {
      throw failure(what, 'NoSuchBucket', `The specified bucket does not exist (${bucket} in ${this.root})`);
    }
    return dir;
  }

  /** The path of a key's files without their suffixes, after checking that a folder can hold the key. */
  private async objectPath(bucket: string, key: string, what: string, writing = false): Promise<string> {
    const top = await this.bucketDir(bucket, what);
    const parts = key.split('/');
    if (writing && Buffer.byteLength(key) > MAX_KEY_BYTES) throw failure(what, 'KeyTooLongError', `Your key is too long (${Buffer.byteLength(key)} bytes; S3 takes up to ${MAX_KEY_BYTES})`);
    if (!parts.every(storable)) {
      throw new ExternalError(`${what} failed: the file store cannot hold a key with an empty, "." or ".." part, or a NUL (S3 can): run with --store s3`);
    }
    const long = parts.find((p, i) => Buffer.byteLength(p) + (i === parts.length - 1 ? METADATA.length + 1 : 0) > MAX_NAME_BYTES);
    if (long !== undefined) throw new ExternalError(`${what} failed: the file store cannot hold a key part this long (${Buffer.byteLength(long)} bytes; a file name holds ${MAX_NAME_BYTES}, S3 can): run with --store s3`);
    return join(top, ...parts);
  }

  /**
   * Runs `work` holding the key's lock file (`<key>.lock` beside its files), which other processes
   * honour too. A read of a key whose folder does not exist runs without it: there is nothing to
   * read, and a read must not make folders.
   */
  private async locked<T>(path: string, work: () => Promise<T>, reading = false): Promise<T> {
    const lock = `${path}.lock`;
    const started = Date.now();
    for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
      const taken = await open(lock, 'wx').then(
        async (f) => {
          await f.writeFile(String(process.pid));
          await f.close();
          return true;
        },
        async (e: NodeJS.ErrnoException) => {
          if (e.code === 'ENOENT' && reading) return 'absent' as const;
          if (e.code === 'ENOENT') await mkdir(dirname(lock), { recursive: true });
          else if (e.code !== 'EEXIST') throw e;
          else await breakIfStale(lock);
          return false;
        },
      );
      if (taken === 'absent') return work();
      if (taken) break;
      if (Date.now() - started > LOCK_WAIT_MS) throw new ExternalError(`${lock}: another process has held this key's lock for over ${LOCK_WAIT_MS / 1000} s; if no trips task runs, remove the file`);
      await new Promise((r) => setTimeout(r, wait));
    }
    try {
      return await work();
    } finally {
      await rm(lock, { force: true });
    }
  }
}

/** A key part a folder can hold (as a file or folder name). */
function storable(part: string): boolean {
  return part !== '' && part !== '.' && part !== '..' && !part.includes('\0');
}

/** Adds to `out` the keys of every object under `dir` (whose keys start with `rel`) that start with `prefix`. */
async function walk(dir: string, rel: string, prefix: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return [];
    throw e;
  });
  for (const e of entries) {
    if (e.isDirectory()) {
      const sub = `${rel}${e.name}/`;
      if (sub.startsWith(prefix) || prefix.startsWith(sub)) await walk(join(dir, e.name), sub, prefix, out);
    } else if (e.isFile() && e.name.endsWith(OBJECT)) {
      const key = rel + e.name.slice(0, -OBJECT.length);
      if (key.startsWith(prefix)) out.push(key);
    }
  }
}

/** The object at `path` (a key's files without their suffixes) as a listing gives it, undefined when there is none. */
async function info(path: string, key: string): Promise<ObjectInfo | undefined> {
  const s = await stat(path + OBJECT).catch(() => undefined);
  if (!s) return undefined;
  return { key, size: s.size, etag: await etagOf(path), lastModified: s.mtime };
}

/** Opens an object's bytes; NoSuchKey when there is no object. */
async function openObject(path: string, what: string) {
  return open(path + OBJECT, 'r').catch((e: NodeJS.ErrnoException) => {
    throw e.code === 'ENOENT' ? failure(what, 'NoSuchKey', 'The specified key does not exist.') : new ExternalError(`${what} failed: ${e.message}`, { cause: e });
  });
}

/** The object's ETag (its MD5 in quotes), undefined when there is no object. */
async function etagOf(path: string): Promise<string | undefined> {
  const md5 = await md5Of(path);
  return md5 === undefined ? undefined : JSON.stringify(md5);
}

/** The object's MD5 in hex, undefined when there is no object. */
async function md5Of(path: string): Promise<string | undefined> {
  const md5 = await readFile(path + MD5, 'utf8').catch(() => undefined);
  if (md5 !== undefined) return md5;
  // Written by something that kept no MD5: hash the bytes, as the S3 server does.
  const hash = createHash('md5');
  try {
    for await (const c of createReadStream(path + OBJECT)) hash.update(c as Buffer);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return hash.digest('hex');
}

async function readMetadata(path: string): Promise<Record<string, string>> {
  return readFile(path + METADATA, 'utf8').then((t) => JSON.parse(t) as Record<string, string>, () => ({}));
}

/** User metadata as S3's HeadObject returns it: the x-amz-meta-* names without their prefix. */
function userMetadata(stored: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(stored)) if (k.startsWith('x-amz-meta-')) out[k.slice('x-amz-meta-'.length)] = v;
  return out;
}

/** An object's metadata as the S3 server stores it: its content type (S3's default when none is given) and x-amz-meta-* names. */
function storedMetadata(contentType: string | undefined, metadata: Record<string, string> = {}): Record<string, string> {
  return {
    'content-type': contentType ?? 'binary/octet-stream',
    ...Object.fromEntries(Object.entries(metadata).map(([k, v]) => [`x-amz-meta-${k.toLowerCase()}`, v])),
  };
}

/**
 * Writes a key's files under its lock: the bytes to a temporary file hashed on the way, then the MD5
 * and the stored metadata, then the bytes renamed into place. Returns the new ETag.
 */
async function write(path: string, body: Readable | Buffer | string, stored: Record<string, string>): Promise<string> {
  const temporary = `${path}${OBJECT}.writing-${process.pid}-${++writes}`;
  const hash = createHash('md5');
  await mkdir(dirname(path), { recursive: true });
  try {
    await pipeline(
      typeof body === 'string' || Buffer.isBuffer(body) ? Readable.from([Buffer.from(body)]) : body,
      new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          done(null, chunk);
        },
      }),
      createWriteStream(temporary),
    );
    return await place(path, temporary, hash.digest('hex'), stored);
  } catch (e) {
    await rm(temporary, { force: true });
    throw e;
  }
}

/** Puts a key's bytes, written whole to `temporary`, in place: first their MD5 and the stored metadata, then the bytes renamed over the old ones. Returns the new ETag. */
async function place(path: string, temporary: string, md5: string, stored: Record<string, string>): Promise<string> {
  await replace(path + MD5, md5);
  await replace(path + METADATA, JSON.stringify(stored, null, 2));
  await rename(temporary, path + OBJECT);
  return JSON.stringify(md5);
}

/** Writes a small file whole: to a temporary name, then renamed over the old one. */
async function replace(file: string, text: string): Promise<void> {
  const temporary = `${file}.writing-${process.pid}-${++writes}`;
  await writeFile(temporary, text);
  await rename(temporary, file);
}

/** Removes a key's lock file left by a process that is gone (killed while writing). */
async function breakIfStale(lock: string): Promise<void> {
  const [text, s] = await Promise.all([readFile(lock, 'utf8').catch(() => ''), stat(lock).catch(() => undefined)]);
  const pid = Number(text);
  if (s && Date.now() - s.mtimeMs > STALE_LOCK_MS && Number.isInteger(pid) && pid > 0 && !isProcessAlive(pid)) await rm(lock, { force: true });
}

/** S3's rules for a bucket's name, as CreateBucket applies them; undefined when it keeps them. */
function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return `a bucket name has 3 to 63 characters: "${name}"`;
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) return `a bucket name is lower-case letters, digits, dots and hyphens, beginning and ending with a letter or digit: "${name}"`;
  if (name.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(name)) return `a bucket name has no two dots in a row and is not an IP address: "${name}"`;
  return undefined;
}

/** A file error in a store operation as the S3 store reports a failed call: naming the operation. */
async function failed<T>(what: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (e) {
    if (e instanceof ExternalError) throw e;
    throw new ExternalError(`${what} failed: ${(e as Error).message}`, { cause: e });
  }
}

function failure(what: string, name: string, message: string): ExternalError {
  return new ExternalError(`${what} failed: ${name}: ${message}`);
}

import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DeleteObjectsCommandOutput, GetObjectCommandOutput, HeadObjectCommandOutput, ListObjectsV2CommandOutput, PutObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { ExternalError } from '@trips/core';

export interface ObjectInfo {
  key: string;
  size: number;
  etag?: string;
  lastModified?: Date;
  /** User metadata (x-amz-meta-*, names lower-cased); only `head` reads it. */
  metadata?: Record<string, string>;
}

export interface StoreSettings {
  region: string;
  /** S3-compatible endpoint (local server); unset on AWS. */
  endpoint?: string;
}

/** Parts of 8 MiB, 4 in flight: a streamed upload holds at most ~32 MiB whatever the object's size. */
const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 4;

/**
 * The S3 client's modules, loaded on first use: a local run on the file store (`--store files`)
 * never needs them, and loading them took about 25 ms of each task's start (docs/scale.md).
 */
const s3Sdk = () => import('@aws-sdk/client-s3');

/**
 * The object store the pipeline reads and writes: S3 through the SDK (`S3ObjectStore`), or, for a
 * local run that asks for it, a folder laid out as the local S3 server keeps its objects
 * (`FileObjectStore`, file-store.ts). Both keep S3's rules: an object appears whole or not at all,
 * a write to a key can be made conditional, a listing comes in key order.
 */
export abstract class ObjectStore {
  /** Every object under the prefix. */
  abstract list(bucket: string, prefix: string): AsyncGenerator<ObjectInfo>;
  abstract head(bucket: string, key: string): Promise<ObjectInfo | undefined>;
  abstract getStream(bucket: string, key: string): Promise<Readable>;
  /** Bytes `start` to `end` (inclusive) of an object: a ranged GET, for reading a file's footer without the file. */
  abstract getRange(bucket: string, key: string, start: number, end: number): Promise<Buffer>;
  /** Writes an object (multipart for large streams on S3); the object appears only when the write completes. */
  abstract put(bucket: string, key: string, body: Readable | Buffer | string, contentType?: string, metadata?: Record<string, string>): Promise<void>;
  /**
   * Writes a small object only if the condition holds when the store applies the write (a
   * conditional write: `ifNoneMatch: '*'` creates it only where there is none, `ifMatch` replaces
   * only the version with that ETag). Returns the new ETag, or undefined when the condition did not hold.
   */
  abstract putIf(bucket: string, key: string, body: string, condition: { ifNoneMatch: '*' } | { ifMatch: string }): Promise<string | undefined>;
  /** A small object's text and ETag, or undefined when there is none. */
  abstract getVersioned(bucket: string, key: string): Promise<{ text: string; etag: string } | undefined>;
  /** Copies an object inside its bucket, content type and metadata with it. */
  abstract copy(bucket: string, fromKey: string, toKey: string): Promise<void>;
  abstract download(bucket: string, key: string, path: string): Promise<void>;
  /** Deletes one object (no error when it is absent). */
  abstract delete(bucket: string, key: string): Promise<void>;
  /** Deletes the given keys; returns how many. */
  abstract deleteKeys(bucket: string, keys: string[], what?: string): Promise<number>;
  abstract ensureBucket(bucket: string): Promise<void>;

  async listAll(bucket: string, prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    for await (const o of this.list(bucket, prefix)) out.push(o);
    return out.sort((a, b) => a.key.localeCompare(b.key));
  }

  async getText(bucket: string, key: string): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of await this.getStream(bucket, key)) chunks.push(Buffer.from(c));
    return Buffer.concat(chunks).toString('utf8');
  }

  async getJson<T>(bucket: string, key: string): Promise<T | undefined> {
    if (!(await this.head(bucket, key))) return undefined;
    return JSON.parse(await this.getText(bucket, key)) as T;
  }

  async putJson(bucket: string, key: string, value: unknown): Promise<void> {
    await this.put(bucket, key, `${JSON.stringify(value, null, 2)}\n`, 'application/json');
  }

  /** Uploads a local file; returns its size. */
  async upload(path: string, bucket: string, key: string, contentType?: string): Promise<number> {
    const { size } = await stat(path);
    await this.put(bucket, key, createReadStream(path), contentType);
    return size;
  }

  /** Deletes every object under the prefix; returns how many were deleted. */
  async deletePrefix(bucket: string, prefix: string): Promise<number> {
    if (!prefix.endsWith('/')) throw new Error(`deletePrefix refuses a prefix that does not end in '/': ${prefix}`);
    return this.deleteKeys(bucket, (await this.listAll(bucket, prefix)).map((o) => o.key), `under s3://${bucket}/${prefix}`);
  }
}

/**
 * The object store on S3 through the AWS SDK v3, or on any S3-compatible server at `endpoint`.
 * Streams both ways; never reads a whole object into memory unless asked to (`getText`).
 */
export class S3ObjectStore extends ObjectStore {
  constructor(
    private readonly settings: StoreSettings,
    private client?: S3Client,
  ) {
    super();
  }

  /** Sends the command `make` builds from the SDK's module. */
  private async send<T>(make: (sdk: typeof import('@aws-sdk/client-s3')) => object): Promise<T> {
    const sdk = await s3Sdk();
    return this.s3(sdk).send(make(sdk) as never) as Promise<T>;
  }

  /** The client given, or the one made at the first call. */
  private s3(sdk: typeof import('@aws-sdk/client-s3')): S3Client {
    this.client ??= new sdk.S3Client({
      region: this.settings.region,
      endpoint: this.settings.endpoint,
      // Local servers serve buckets by path, not by virtual host.
      forcePathStyle: this.settings.endpoint !== undefined,
    });
    return this.client;
  }

  /**
   * Every object under the prefix, page by page (1000 keys a request). Keys are asked for URL-encoded
   * (EncodingType=url), as S3 recommends for keys with characters XML cannot carry, and decoded when
   * the server says it encoded them (servers that ignore the parameter send them plain).
   */
  async *list(bucket: string, prefix: string): AsyncGenerator<ObjectInfo> {
    let token: string | undefined;
    do {
      const page = await this.call(`list s3://${bucket}/${prefix}`, () =>
        this.send<ListObjectsV2CommandOutput>((sdk) => new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token, EncodingType: 'url' })),
      );
      const decode = page.EncodingType === 'url' ? urlDecodeKey : (k: string) => k;
      for (const o of page.Contents ?? []) {
        if (o.Key) yield { key: decode(o.Key), size: o.Size ?? 0, etag: o.ETag, lastModified: o.LastModified };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    try {
      const h = await this.send<HeadObjectCommandOutput>((sdk) => new sdk.HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { key, size: h.ContentLength ?? 0, etag: h.ETag, lastModified: h.LastModified, metadata: h.Metadata ?? {} };
    } catch (e) {
      if (['NotFound', 'NoSuchKey'].includes((e as { name?: string }).name ?? '')) return undefined;
      throw new ExternalError(`head s3://${bucket}/${key} failed: ${(e as Error).message}`, { cause: e });
    }
  }

  async getStream(bucket: string, key: string): Promise<Readable> {
    const out = await this.call(`get s3://${bucket}/${key}`, () => this.send<GetObjectCommandOutput>((sdk) => new sdk.GetObjectCommand({ Bucket: bucket, Key: key })));
    return out.Body as Readable;
  }

  async getRange(bucket: string, key: string, start: number, end: number): Promise<Buffer> {
    if (start < 0 || end < start) throw new Error(`getRange: bad range ${start}-${end} of s3://${bucket}/${key}`);
    const out = await this.call(`get bytes ${start}-${end} of s3://${bucket}/${key}`, () => this.send<GetObjectCommandOutput>((sdk) => new sdk.GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${start}-${end}` })));
    const body = Buffer.from(await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
    if (body.length !== end - start + 1) throw new ExternalError(`get bytes ${start}-${end} of s3://${bucket}/${key}: ${body.length} bytes came back, not ${end - start + 1}`);
    return body;
  }

  async put(bucket: string, key: string, body: Readable | Buffer | string, contentType?: string, metadata?: Record<string, string>): Promise<void> {
    const [sdk, { Upload }] = await Promise.all([s3Sdk(), import('@aws-sdk/lib-storage')]);
    const upload = new Upload({
      client: this.s3(sdk),
      params: { Bucket: bucket, Key: key, Body: body, ContentType: contentType, Metadata: metadata },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
      leavePartsOnError: false,
    });
    await this.call(`put s3://${bucket}/${key}`, () => upload.done());
  }

  async putIf(bucket: string, key: string, body: string, condition: { ifNoneMatch: '*' } | { ifMatch: string }): Promise<string | undefined> {
    try {
      const out = await this.send<PutObjectCommandOutput>(
        (sdk) =>
          new sdk.PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: body,
            ContentType: 'application/json',
            IfNoneMatch: 'ifNoneMatch' in condition ? condition.ifNoneMatch : undefined,
            IfMatch: 'ifMatch' in condition ? condition.ifMatch : undefined,
          }),
      );
      return out.ETag;
    } catch (e) {
      // 412 PreconditionFailed, or 409 ConditionalRequestConflict when another conditional write of the key was in flight.
      const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 412 || status === 409) return undefined;
      throw new ExternalError(`conditional put s3://${bucket}/${key} failed: ${(e as Error).name}: ${(e as Error).message}`, { cause: e });
    }
  }

  async getVersioned(bucket: string, key: string): Promise<{ text: string; etag: string } | undefined> {
    try {
      const out = await this.send<GetObjectCommandOutput>((sdk) => new sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
      return { text: await (out.Body as { transformToString(): Promise<string> }).transformToString(), etag: out.ETag as string };
    } catch (e) {
      if ((e as { name?: string }).name === 'NoSuchKey') return undefined;
      throw new ExternalError(`get s3://${bucket}/${key} failed: ${(e as Error).name}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Copies an object inside S3 (no bytes through this process); objects up to 5 GiB. */
  async copy(bucket: string, fromKey: string, toKey: string): Promise<void> {
    const source = `${bucket}/${fromKey}`.split('/').map(encodeURIComponent).join('/');
    await this.call(`copy s3://${bucket}/${fromKey} to ${toKey}`, () => this.send<unknown>((sdk) => new sdk.CopyObjectCommand({ Bucket: bucket, Key: toKey, CopySource: source })));
  }

  async download(bucket: string, key: string, path: string): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    await pipeline(await this.getStream(bucket, key), createWriteStream(path));
  }

  async delete(bucket: string, key: string): Promise<void> {
    await this.call(`delete s3://${bucket}/${key}`, () => this.send<unknown>((sdk) => new sdk.DeleteObjectCommand({ Bucket: bucket, Key: key })));
  }

  /** Deletes the given keys (1000 a request); returns how many. */
  async deleteKeys(bucket: string, keys: string[], what = `in s3://${bucket}/`): Promise<number> {
    let deleted = 0;
    let batch: string[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const keys = batch;
      batch = [];
      const res = await this.call(`delete ${what}`, () =>
        this.send<DeleteObjectsCommandOutput>((sdk) => new sdk.DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } })),
      );
      if (res.Errors?.length) throw new ExternalError(`delete s3://${bucket}/${res.Errors[0].Key} failed: ${res.Errors[0].Message}`);
      deleted += keys.length;
    };
    // Callers collect first, then delete: deleting while paginating can skip keys on some servers.
    for (const key of keys) {
      batch.push(key);
      if (batch.length === 1000) await flush();
    }
    await flush();
    return deleted;
  }

  async ensureBucket(bucket: string): Promise<void> {
    try {
      await this.send<unknown>((sdk) => new sdk.HeadBucketCommand({ Bucket: bucket }));
    } catch {
      await this.call(`create bucket ${bucket}`, () => this.send<unknown>((sdk) => new sdk.CreateBucketCommand({ Bucket: bucket })));
    }
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw new ExternalError(`${what} failed: ${(e as Error).name}: ${(e as Error).message}`, { cause: e });
    }
  }
}

/** A key of a listing made with EncodingType=url: S3 percent-encodes it and writes spaces as '+'. */
export function urlDecodeKey(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}

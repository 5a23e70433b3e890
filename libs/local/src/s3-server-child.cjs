'use strict';
/**
 * The local S3 server process: s3rver, made to behave as Amazon S3 does where the pipeline relies on it.
 *
 *   node --openssl-legacy-provider s3-server-child.cjs <s3rver module> '<json options>'
 *
 * Prints one JSON line with the port once listening; stops on SIGTERM or SIGINT, and on its own when
 * the process that started it dies (an IPC channel is passed for that), so a killed `trips run`
 * leaves no server behind.
 *
 * What it adds to s3rver:
 * - Strong read-after-write consistency, as S3 has: requests on one object are handled one at a
 *   time, and an object's bytes are written to a temporary file that replaces the old one only
 *   when complete (s3rver answered a PUT before its bytes were on disk, and overwrote in place, so
 *   a reader could see a torn object).
 * - Conditional writes (PutObject with If-None-Match: * or If-Match: <etag>; 412 PreconditionFailed
 *   otherwise), evaluated and applied atomically per key, as S3 has done since 2024: the ds lock
 *   relies on them.
 * - CopyObject sources decoded as S3 decodes them (s3rver's decodeURI leaves %26, %23, %3F… as
 *   they are, so copying `a&b.csv` looked for a key `a%26b.csv`).
 * - Keys longer than S3 takes (1,024 bytes) refused with KeyTooLongError.
 * - Object keys in XML listings escaped once, as S3 escapes them: s3rver escapes them twice (its
 *   own he.escape, then its XML builder's), so `a&b.csv` came back to the SDK as `a&amp;b.csv` and
 *   `it's.csv` as `it&#x27;s.csv`.
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const { Readable, Transform } = require('node:stream');
const { pipeline } = require('node:stream/promises');
const S3rver = require(process.argv[2]);
const o = JSON.parse(process.argv[3]);

const server = new S3rver({
  address: '127.0.0.1',
  port: o.port,
  directory: o.directory,
  silent: true,
  allowMismatchedSignatures: true,
  configureBuckets: o.buckets.map((name) => ({ name, configs: [] })),
});

/** Per-key queue: a conditional write's check and write happen with no other write of that key in between. */
const queues = new Map();
function serially(id, fn) {
  const before = queues.get(id) || Promise.resolve();
  const run = before.then(fn, fn);
  const tail = run.catch(() => undefined);
  queues.set(id, tail);
  tail.then(() => {
    if (queues.get(id) === tail) queues.delete(id);
  });
  return run;
}

function preconditionFailed(ctx, key) {
  ctx.status = 412;
  ctx.type = 'application/xml';
  ctx.body =
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code>' +
    '<Message>At least one of the pre-conditions you specified did not hold</Message>' +
    `<Condition>${ctx.headers['if-none-match'] ? 'If-None-Match' : 'If-Match'}</Condition><Key>${escapeXml(key)}</Key></Error>`;
}

/** S3 takes keys of up to 1,024 UTF-8 bytes (s3rver took any its folder could hold). */
function keyTooLong(ctx, key) {
  ctx.status = 400;
  ctx.type = 'application/xml';
  ctx.body =
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>KeyTooLongError</Code>' +
    `<Message>Your key is too long (${Buffer.byteLength(key)} bytes; S3 takes up to 1024)</Message></Error>`;
}
function escapeXml(text) {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** One object request at a time per key (uploads of parts excepted: they do not touch the object), with conditional writes checked inside. */
async function perObject(ctx, next) {
  const [, bucket, ...rest] = ctx.path.split('/');
  if (!bucket || rest.length === 0 || rest.join('/') === '' || 'partNumber' in ctx.query) return next();
  const key = decodeURIComponent(rest.join('/'));
  const ifNoneMatch = ctx.headers['if-none-match'];
  const ifMatch = ctx.headers['if-match'];
  const isWrite = (ctx.method === 'PUT' && !ctx.headers['x-amz-copy-source']) || (ctx.method === 'POST' && 'uploadId' in ctx.query);
  if (isWrite && Buffer.byteLength(key) > 1024) return keyTooLong(ctx, key);
  return serially(`${bucket}/${key}`, async () => {
    if (isWrite && (ifNoneMatch || ifMatch)) {
      const current = await server.store.getMetadata(bucket, key).catch(() => undefined);
      if (ifNoneMatch === '*' && current) return preconditionFailed(ctx, key);
      if (ifMatch && (!current || (ifMatch !== '*' && ifMatch !== current.etag))) return preconditionFailed(ctx, key);
    }
    await next();
  });
}

/** Writes an object's bytes to a temporary file and renames it over the old one once complete. */
let temporaries = 0;
server.store.putContent = async function putContent(objectPath, content) {
  const temporary = `${objectPath}.writing-${process.pid}-${++temporaries}`;
  const md5 = crypto.createHash('md5');
  let size = 0;
  const source = Buffer.isBuffer(content) ? Readable.from([content]) : content;
  try {
    await pipeline(
      source,
      new Transform({
        transform(chunk, encoding, done) {
          md5.update(chunk);
          size += chunk.length;
          done(null, chunk);
        },
      }),
      fs.createWriteStream(temporary),
    );
    await fs.promises.rename(temporary, objectPath);
  } catch (e) {
    await fs.promises.rm(temporary, { force: true });
    throw e;
  }
  return [size, md5.digest('hex')];
};

/** Hands s3rver a copy source that its decodeURI turns into the key S3 would read. */
async function copySourceDecoding(ctx, next) {
  const source = ctx.headers['x-amz-copy-source'];
  if (source) ctx.req.headers['x-amz-copy-source'] = encodeURI(decodeURIComponent(source));
  return next();
}

/** Undoes s3rver's second escaping of text in XML responses (he.escape's forms, escaped again by its builder). */
const TWICE = { '&amp;amp;': '&amp;', '&amp;lt;': '&lt;', '&amp;gt;': '&gt;', '&amp;#x27;': "'", '&amp;#x60;': '`' };
async function plainXmlEscapes(ctx, next) {
  await next();
  if (typeof ctx.body === 'string' && ctx.body.startsWith('<?xml')) {
    ctx.body = ctx.body.replace(/&amp;(?:amp|lt|gt|#x27|#x60);/g, (m) => TWICE[m]);
  }
}

// Koa runs middleware in array order: ours go first so they wrap everything s3rver does.
server.middleware.unshift(plainXmlEscapes, perObject, copySourceDecoding);

server.run().then(
  ({ port }) => console.log(JSON.stringify({ port })),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
const stop = () => server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// Started with an IPC channel: when the parent dies the channel closes, and so does the server.
if (process.send) process.on('disconnect', stop);

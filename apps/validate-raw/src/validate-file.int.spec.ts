import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { hardRows } from '@trips/testing';
import { CheckPool } from './check-pool';
import { validateFile, type ValidateFileOptions } from './validate-file';

const HEADER = 'region,origin_coord,destination_coord,datetime,datasource';
const row = (region: string, n: number) => `${region},POINT (14.4 50.0),POINT (14.5 50.1),2018-06-26 0${n % 10}:00:00,cheap_mobile`;

/**
 * A file of every kind of line, many times over: plain rows good and bad, quoted fields (with a
 * comma, a doubled quote, a line break), CRLF and lone CR line ends, blank lines, Unicode to put in
 * canonical form, the fixtures' hard rows, and a last line without a line break.
 */
function mixedFile(): string {
  const lines = [HEADER];
  for (let i = 0; i < 400; i++) {
    lines.push(row('Prague', i), row('Brno', i).replace('14.5', '190.5'), row('Ostrava', i).replace('2018-06-26', '2018-02-30'));
    if (i % 7 === 0) lines.push(`"Prague, Old Town",POINT (14.4 50.0),POINT (14.5 50.1),2018-06-26 10:00:00,"say ""hi"""`);
    if (i % 11 === 0) lines.push(`"Multi\nline",POINT (14.4 50.0),POINT (14.5 50.1),2018-06-26 11:00:00,x`);
    if (i % 13 === 0) lines.push(`${row('Plzeň', i)}\r`, `${row('Pra\u0301gue', i)}\r\n${row('Liberec', i)}`);
    if (i % 17 === 0) lines.push('', 'a,b', `${row('Brno', i)},extra`, row('Brno\\', i));
    if (i % 50 === 0) lines.push(...hardRows(row).filter((r) => r.length < 10_000));
  }
  return `${lines.join('\n')}\n${row('Last', 1)}`;
}

async function validate(text: string | Buffer, options: ValidateFileOptions) {
  const dir = await mkdtemp(join(tmpdir(), 'validate-file-'));
  try {
    const ok = join(dir, 'ok.csv');
    const bad = join(dir, 'bad.csv');
    const result = await validateFile('trips/ingest_date=2018-06-26/mixed.csv', Readable.from([Buffer.from(text)]), ok, bad, { dates: { min: '2018-01-01', max: '2018-12-31' }, ...options });
    return { result, validated: await readFile(ok, 'utf8'), quarantine: await readFile(bad, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('validateFile on worker threads', () => {
  let pool: CheckPool;
  beforeAll(() => {
    pool = CheckPool.start(2);
  });
  afterAll(() => pool.close());

  it('writes, byte for byte, what one thread writes, whatever the batches, and accounts for every row', async () => {
    const text = mixedFile();
    const one = await validate(text, {});
    const { rows } = one.result.account;
    expect(rows.read).toBe(1533); // every line but the header, a quoted line break joining two
    expect(rows.passed + rows.rejected).toBe(rows.read);
    expect(one.result.account.rejectedByReason).toMatchObject({ destination_out_of_range: 400, bad_datetime: 400, blank_line: 24, column_count: 48, backslash: 24 });
    // Line numbers count physical lines: the quoted line breaks and lone CRs before a row too.
    const lastLine = text.split(/\r\n|\r|\n/).length;
    expect(one.validated.trimEnd().split('\n').pop()).toBe(`trips/ingest_date=2018-06-26/mixed.csv,${lastLine},${row('Last', 1)}`);
    expect(one.validated).toContain('"Prague, Old Town"');
    expect(one.quarantine).toContain('control_character,region holds the control character U+000A');

    for (const options of [{ pool }, { pool, batchChars: 300 }, { batchChars: 300 }, { pool, batchChars: 1 }]) {
      const other = await validate(text, options);
      expect({ batchChars: options.batchChars, pool: 'pool' in options, ...other }).toEqual({ batchChars: options.batchChars, pool: 'pool' in options, ...one });
    }
  });

  it('refuses a file whose header is wrong, or whose bytes are not UTF-8, whole, with workers as without', async () => {
    for (const text of [`nope\n${row('Prague', 1)}\n`, Buffer.concat([Buffer.from(`${HEADER}\n${row('Prague', 1)}\n`.repeat(50)), Buffer.from([0xff, 0x0a])])]) {
      const one = await validate(text, {});
      expect(one.result.fileReason).toMatch(/bad_header|not_utf8/);
      expect(await validate(text, { pool, batchChars: 64 })).toEqual(one);
    }
  });

  it('reads a gzip delivery on workers as on one thread', async () => {
    const text = mixedFile();
    const plain = await validate(text, {});
    const gzipped = await validate(gzipSync(text), { pool, batchChars: 4096 });
    expect(gzipped.validated).toBe(plain.validated);
    expect(gzipped.quarantine).toBe(plain.quarantine);
    expect(gzipped.result.account.rows).toEqual(plain.result.account.rows);
  });
});

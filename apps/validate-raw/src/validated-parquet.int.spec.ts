import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { columnNames, tableOfLayer } from '@trips/pipeline';
import { ValidatedParquet } from './validated-parquet';

const HEADER = columnNames(tableOfLayer('validated')).join(',');
const KEY = 'trips/ingest_date=2018-06-26/north.csv';

describe('the validated rows as Parquet', () => {
  let dir: string;
  let parquet: ValidatedParquet;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'validated-parquet-'));
    parquet = new ValidatedParquet({ spillDir: dir, memoryLimit: '128MB', threads: 2 });
  });
  afterEach(async () => {
    await parquet.close();
    await rm(dir, { recursive: true, force: true });
  });

  const csv = async (lines: string[]) => {
    const path = join(dir, 'rows.csv');
    await writeFile(path, `${[HEADER, ...lines].join('\n')}\n`);
    return path;
  };

  it('keeps every row in file order, its fields text as written (quotes undone), its line a BIGINT', async () => {
    const lines = [
      `${KEY},2,Prague,POINT (14.4 50.0),POINT (14.5 50.1),2018-06-26 09:00:00,cheap_mobile`,
      `${KEY},3,"Prague, Old Town",POINT (14.4 50.0),POINT (14.5 50.1),2018-06-26 10:00:00,"say ""hi"""`,
      ...Array.from({ length: 5000 }, (_, i) => `${KEY},${i + 5},Brno,POINT (16.6 49.2),POINT (16.7 49.3),2018-06-26 11:00:00,x${i}`),
    ];
    const out = join(dir, 'rows.parquet');
    await parquet.convert(KEY, await csv(lines), out, lines.length);
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    try {
      const reader = await con.runAndReadAll(`select * from read_parquet('${out}')`);
      expect(reader.columnNames()).toEqual(columnNames(tableOfLayer('validated')));
      expect(reader.columnTypes().map(String)).toEqual(['VARCHAR', 'BIGINT', 'VARCHAR', 'VARCHAR', 'VARCHAR', 'VARCHAR', 'VARCHAR']);
      const rows = reader.getRowsJS();
      expect(rows.length).toBe(lines.length);
      expect(rows.slice(0, 2)).toEqual([
        [KEY, 2n, 'Prague', 'POINT (14.4 50.0)', 'POINT (14.5 50.1)', '2018-06-26 09:00:00', 'cheap_mobile'],
        [KEY, 3n, 'Prague, Old Town', 'POINT (14.4 50.0)', 'POINT (14.5 50.1)', '2018-06-26 10:00:00', 'say "hi"'],
      ]);
      expect(rows.map((r) => Number(r[1]))).toEqual([2, 3, ...Array.from({ length: 5000 }, (_, i) => i + 5)]);
    } finally {
      con.closeSync();
      db.closeSync();
    }
  });

  it('fails, naming the raw file, when the rows written are not the rows that passed, or a row cannot be read', async () => {
    const good = `${KEY},2,Prague,POINT (14.4 50.0),POINT (14.5 50.1),2018-06-26 09:00:00,cheap_mobile`;
    await expect(parquet.convert(KEY, await csv([good]), join(dir, 'a.parquet'), 2)).rejects.toThrow(`validate-raw: the validated rows of ${KEY} came to 1 Parquet rows, not the 2 that passed`);
    await expect(parquet.convert(KEY, await csv([good, `${KEY},3,Prague,POINT (14.4 50.0)`]), join(dir, 'b.parquet'), 2)).rejects.toThrow(`validate-raw: writing the validated rows of ${KEY} as Parquet failed: `);
    await expect(parquet.convert(KEY, await csv([good.replace(',2,', ',two,')]), join(dir, 'c.parquet'), 1)).rejects.toThrow(`validate-raw: writing the validated rows of ${KEY} as Parquet failed: `);
  });
});

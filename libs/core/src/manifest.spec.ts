import { accountingGap, addCounts } from './manifest';

const rows = (read: number, passed: number, rejected: number, duplicates: number) => ({ read, passed, rejected, duplicates });

describe('row accounting', () => {
  it('closes when read = passed + rejected + duplicates and reasons sum to rejected', () => {
    expect(
      accountingGap({
        rows: rows(10, 7, 2, 1),
        rejectedByReason: { bad_wkt: 2 },
        files: [{ file: 'a.csv', status: 'ok', rows: rows(10, 7, 2, 1), rejectedByReason: { bad_wkt: 2 } }],
      }),
    ).toBeUndefined();
  });

  it('names the file whose counts do not close', () => {
    expect(
      accountingGap({
        rows: rows(10, 7, 2, 1),
        rejectedByReason: { bad_wkt: 2 },
        files: [{ file: 'a.csv', status: 'ok', rows: rows(10, 8, 2, 1), rejectedByReason: { bad_wkt: 2 } }],
      }),
    ).toBe('file a.csv: read 10 != passed 8 + rejected 2 + duplicates 1');
    expect(accountingGap({ rows: rows(3, 1, 2, 0), rejectedByReason: { x: 1 }, files: [] })).toBe('task: rejected 2 != sum of reasons 1');
  });

  it('adds counts field by field', () => {
    expect(addCounts(rows(1, 2, 3, 4), rows(10, 20, 30, 40))).toEqual(rows(11, 22, 33, 44));
  });
});

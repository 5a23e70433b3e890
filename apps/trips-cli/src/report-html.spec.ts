import { reportHtml, type ReportData } from './report-html';
import { formatRows, table } from './report';

const EMPTY: ReportData = { generatedAt: '2026-01-01T00:00:00Z', source: 'test', regions: [], groups: [], rejects: [], tasks: [] };

describe('the report page', () => {
  it('says what is missing on an empty warehouse, with no broken numbers', () => {
    const html = reportHtml(EMPTY);
    expect(html).toContain('No trips in the warehouse yet.');
    expect(html).toContain('No trip groups yet.');
    expect(html).toContain('No validation has run yet.');
    expect(html).not.toMatch(/NaN|Infinity|undefined/);
  });

  it('escapes names, draws a one-group region and a region without trips without broken numbers', () => {
    const html = reportHtml({
      ...EMPTY,
      regions: [
        { name: '<b>Évora & "Co"</b>', weeklyAverage: 0, totalTrips: 0, weeks: [{ week_start_date: '2018-05-28', trips: 0 }] },
        { name: 'Prague', weeklyAverage: 2.5, totalTrips: 5, weeks: [{ week_start_date: '2018-05-28', trips: 5 }, { week_start_date: '2018-06-04', trips: 0 }] },
      ],
      groups: [{ region: 'Prague', time_bucket: 3, bucket_minutes: 30, origin_lon: 14.4, origin_lat: 50.1, dest_lon: 14.4, dest_lat: 50.1, trips: 2 }],
      cellSizeDeg: 0.01,
      rejects: [{ ds: '2018-05-28', read: 0, rejected: 0, byReason: {}, refusedFiles: 0 }],
      tasks: [{ ds: '2018-05-28', task: 'validate_raw', status: 'failed', seconds: 0.2 }],
    });
    expect(html).toContain('&lt;b&gt;Évora &amp; &quot;Co&quot;&lt;/b&gt;');
    expect(html).not.toContain('<b>Évora');
    expect(html).toContain('2 trips at 01:30 (+30 min)');
    expect(html).toContain('failed: validate_raw');
    expect(html).toContain('0 of 0 rows (0.00%)');
    expect(html).not.toMatch(/NaN|Infinity|undefined/);
  });
});

describe('the one table style', () => {
  it('puts text at the left and numbers (with separators, signs, fractions, NULL) at the right', () => {
    expect(table([['name', 'n', 'ratio'], ['a', '1,234', '-0.5'], ['longer', 'NULL', '12%']]).split('\n')).toEqual([
      'name        n  ratio',
      'a       1,234   -0.5',
      'longer   NULL    12%',
    ]);
  });

  it('groups counts in thousands in the commands\' own summaries, and leaves query results as the database gives them', () => {
    const rows = [{ task: 'validate_raw', read: 1234567, seconds: 1.5 }];
    expect(formatRows(rows, 'text', { counts: true })).toContain('validate_raw  1,234,567      1.5');
    expect(formatRows(rows, 'text')).toContain('validate_raw  1234567      1.5');
    expect(formatRows(rows, 'csv', { counts: true })).toBe('task,read,seconds\nvalidate_raw,1234567,1.5\n');
  });

  it('writes CSV as RFC 4180 does: quotes where needed, empty for NULL, JSON as text', () => {
    expect(formatRows([{ a: 'x,y', b: null, c: { k: 'v"' }, d: 'line\nbreak' }], 'csv')).toBe('a,b,c,d\n"x,y",,"{""k"":""v\\""""}","line\nbreak"\n');
  });
});

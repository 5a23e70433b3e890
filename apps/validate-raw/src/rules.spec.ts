import { checkRow, headerMatches, validDatetime } from './rules';

const good = ['Prague', 'POINT (14.4973794438195 50.00136875782316)', 'POINT (14.43 50.04)', '2018-05-28 09:03:40', 'funny_car'];
const withField = (i: number, v: string) => good.map((f, j) => (j === i ? v : f));

describe('row rules', () => {
  it('passes a good row, with spacing and case of POINT free', () => {
    expect(checkRow(good, false)).toBeUndefined();
    expect(checkRow(withField(1, '  point(  -9.1 38.7 ) '), false)).toBeUndefined();
  });

  it.each([
    [withField(0, ' '), 'missing_region'],
    [withField(4, ''), 'missing_datasource'],
    [withField(1, 'POINT (14.4)'), 'bad_origin_wkt'],
    [withField(1, 'POINT (abc 50)'), 'bad_origin_wkt'],
    [withField(2, 'LINESTRING (1 2, 3 4)'), 'bad_destination_wkt'],
    [withField(1, 'POINT (180.0001 50)'), 'origin_out_of_range'],
    [withField(2, 'POINT (14 -90.5)'), 'destination_out_of_range'],
    [withField(3, '2018-05-28 24:00:00'), 'bad_datetime'],
    [withField(3, '2019-02-29 10:00:00'), 'bad_datetime'],
    [[...good, 'x'], 'column_count'],
    [good.slice(0, 4), 'column_count'],
    [[''], 'blank_line'],
  ])('rejects %j as %s', (fields, reason) => {
    expect(checkRow(fields, false)?.reason).toBe(reason);
  });

  it('reports the first broken rule of a row breaking several', () => {
    expect(checkRow(['', 'bad', 'bad', 'bad', ''], false)?.reason).toBe('missing_region');
    expect(checkRow(good, true)?.reason).toBe('unterminated_quote');
  });

  it('accepts the documented datetime forms and the boundary coordinates', () => {
    expect(validDatetime('2018-05-28T09:03:40.123456')).toBe(true);
    expect(validDatetime('2020-02-29 00:00:00')).toBe(true);
    expect(validDatetime('2018-05-28 09:03')).toBe(false);
    expect(checkRow(withField(1, 'POINT (-180 90)'), false)).toBeUndefined();
  });

  it('matches the header case-insensitively and exactly by column', () => {
    expect(headerMatches([' Region', 'ORIGIN_COORD', 'destination_coord', 'datetime', 'datasource '])).toBe(true);
    expect(headerMatches(['region', 'origin', 'destination_coord', 'datetime', 'datasource'])).toBe(false);
  });
});

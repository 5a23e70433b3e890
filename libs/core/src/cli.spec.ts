import { VERSION } from './args';
import { parseTaskArgs, usage } from './cli';
import { UsageError } from './errors';
import { dateRange, parseDs } from './dates';

const spec = { name: 'validate-raw', description: 'd', options: { 'max-reject-ratio': { type: 'string' as const, description: 'x' } } };

describe('task CLI arguments', () => {
  it('parses --ds and declared options', () => {
    expect(parseTaskArgs(spec, ['--ds', '2018-05-28', '--max-reject-ratio', '0.1'])).toEqual({
      ds: '2018-05-28',
      runId: undefined,
      options: { ds: '2018-05-28', 'run-id': undefined, 'max-reject-ratio': '0.1' },
    });
  });

  it('takes --ds today as the current UTC day (a task started as a service)', () => {
    expect(parseTaskArgs(spec, ['--ds', 'today']).ds).toBe(new Date().toISOString().slice(0, 10));
  });

  it.each([
    [[], '--ds YYYY-MM-DD is required'],
    [['--ds', '2018-02-30'], '--ds must be a calendar date YYYY-MM-DD, got "2018-02-30"'],
    [['--ds', '28.05.2018'], 'got "28.05.2018"'],
    [['--ds', '2018-05-28', '--bogus'], "validate-raw: unknown option '--bogus'"],
    [['--ds', '2018-05-28', 'stray'], "validate-raw: too many arguments. Expected 0 arguments but got 1."],
  ])('refuses %j with a usage error', (argv, message) => {
    expect(() => parseTaskArgs(spec, argv)).toThrow(UsageError);
    expect(() => parseTaskArgs(spec, argv)).toThrow(message);
  });

  it('recognises --help and --version without a ds, and prints every option in one help style', () => {
    expect(parseTaskArgs(spec, ['--help']).print).toContain('Usage: validate-raw [options]');
    expect(parseTaskArgs(spec, ['--version']).print).toBe(`${VERSION}\n`);
    expect(usage(spec)).toContain('--max-reject-ratio <VALUE>');
    expect(usage(spec)).toContain('--ds <YYYY-MM-DD>');
    expect(usage(spec)).toContain('--version');
  });
});

describe('dates', () => {
  it('accepts real calendar days only', () => {
    expect(parseDs('2020-02-29')).toBe('2020-02-29');
    expect(() => parseDs('2019-02-29')).toThrow(UsageError);
  });

  it('lists a range inclusively and refuses a reversed one', () => {
    expect(dateRange('2018-12-30', '2019-01-02')).toEqual(['2018-12-30', '2018-12-31', '2019-01-01', '2019-01-02']);
    expect(() => dateRange('2019-01-02', '2018-12-30')).toThrow('date range is reversed');
  });
});

import { PassThrough } from 'node:stream';
import { createProgress, type ProgressRecord } from '@trips/core';
import { prettyLog, TaskOutput } from './progress-view';

function sink(columns?: number) {
  const out = new PassThrough() as unknown as NodeJS.WriteStream & PassThrough;
  let text = '';
  out.on('data', (d) => (text += d));
  Object.assign(out, { columns });
  return { out, text: () => text };
}

const line = (r: Partial<ProgressRecord>) => `${JSON.stringify({ progress: { task: 'load_redshift', stage: 'loading fact_trips', state: 'run', ms: 0, ...r } })}\n`;

describe('what trips run shows of its tasks', () => {
  it('draws progress as one line rewritten in place on a terminal, and keeps it out of the task log', () => {
    const s = sink(100);
    const view = new TaskOutput(s.out, { verbose: false, tty: true });
    const kept = view.write(line({ state: 'run', ms: 10_000, bytes: 25_000_000, totalBytes: 100_000_000 }) + 'plain text\n');
    expect(kept).toBe('plain text\n');
    expect(s.text()).toBe('\r\x1b[2K    load_redshift: loading fact_trips: 25 MB of 100 MB, 25%, 2.5 MB/s, 30 s left');
    view.clear();
    expect(s.text().endsWith('\r\x1b[2K')).toBe(true);
  });

  it('writes a log, not a screen, elsewhere: a stage that took a second or more, and a long one every 30 s', () => {
    const s = sink();
    const view = new TaskOutput(s.out, { verbose: false, tty: false });
    view.write(line({ state: 'start' }));
    view.write(line({ state: 'done', ms: 400 }));
    view.write(line({ stage: 'long', state: 'run', ms: 10_000, rows: 10 }));
    view.write(line({ stage: 'long', state: 'run', ms: 31_000, rows: 31_000 }));
    view.write(line({ stage: 'long', state: 'run', ms: 40_000, rows: 40_000 }));
    view.write(line({ stage: 'long', state: 'done', ms: 62_000, rows: 62_000 }));
    expect(s.text().split('\n').filter(Boolean)).toEqual(['    load_redshift: long: 31,000 rows, 1,000 rows/s', '    load_redshift: long: 62,000 rows, done in 62.0 s']);
  });

  it('joins records split across chunks', () => {
    const s = sink();
    const view = new TaskOutput(s.out, { verbose: false, tty: false });
    const whole = line({ state: 'done', ms: 2000 });
    expect(view.write(whole.slice(0, 20))).toBe('');
    view.write(whole.slice(20));
    expect(s.text()).toBe('    load_redshift: loading fact_trips: done in 2.0 s\n');
  });

  it('prints JSON log records readably with --verbose', () => {
    expect(prettyLog('{"level":"warn","time":"2026-11-24T12:00:01.234Z","name":"validate-raw","msg":"quarantined the whole file","file":"a.csv","rows":{"read":1}}')).toBe(
      '12:00:01.234 WARN  validate-raw: quarantined the whole file  file=a.csv rows={"read":1}',
    );
    expect(prettyLog('not json')).toBe('not json');
  });
});

describe('a task\'s progress', () => {
  it('is JSON lines for the runner under trips run, at most four a second, with start and end', () => {
    const s = sink();
    const progress = createProgress('validate_raw', undefined, { live: true, out: s.out });
    const stage = progress.stage('validating', { bytes: 100 });
    for (let i = 0; i < 100; i++) stage.advance({ bytes: 1 });
    stage.done();
    const records = s.text().trim().split('\n').map((l) => JSON.parse(l).progress as ProgressRecord);
    expect(records[0]).toMatchObject({ task: 'validate_raw', stage: 'validating', state: 'start', totalBytes: 100 });
    expect(records.at(-1)).toMatchObject({ state: 'done', bytes: 100, totalBytes: 100 });
    expect(records.length).toBeLessThanOrEqual(3);
  });

  it('is info logs elsewhere (Airflow, ECS)', () => {
    const logged: Array<[unknown, string]> = [];
    const logger = { info: (o: unknown, m: string) => logged.push([o, m]) } as never;
    const stage = createProgress('clean_stage', logger, { live: false }).stage('building clean_trips');
    stage.advance({ rows: 5 });
    stage.done();
    expect(logged.map(([, m]) => m)).toEqual(['clean_stage: building clean_trips', expect.stringMatching(/^clean_stage: building clean_trips: 5 rows, done in \d+\.\d s$/)]);
  });
});

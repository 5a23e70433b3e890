import { Writable } from 'node:stream';
import { createLogger, maskSecrets } from './logger';

function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { sink, lines };
}

describe('logger', () => {
  it('redacts secret fields at any depth and masks passwords inside URLs', () => {
    const { sink, lines } = capture();
    const log = createLogger('t', 'info', sink);
    log.info({ password: 'p1', cfg: { TRIPS_PG_URL: 'postgres://u:p2@h/db', nested: { secret: 'p3' } } }, 'connecting to postgres://trips:p4@127.0.0.1:5432/trips');
    const text = lines.join('');
    for (const s of ['p1', 'p2', 'p3', 'p4']) expect(text).not.toContain(s);
    expect(JSON.parse(text).msg).toBe('connecting to postgres://trips:***@127.0.0.1:5432/trips');
  });

  it('leaves URLs without credentials alone', () => {
    expect(maskSecrets('see http://127.0.0.1:9000/bucket')).toBe('see http://127.0.0.1:9000/bucket');
  });
});

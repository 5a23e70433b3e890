import { Client } from 'pg';
import { startPostgres } from './postgres';

describe('embedded Postgres', () => {
  it('starts a real server on a free port and removes its temporary cluster on stop', async () => {
    const pg = await startPostgres();
    try {
      const c = new Client({ connectionString: pg.url });
      await c.connect();
      const { rows } = await c.query('select current_database() as db, 6 * 7 as answer');
      await c.end();
      expect(rows[0]).toEqual({ db: 'trips', answer: 42 });
    } finally {
      await pg.stop();
    }
  }, 60_000);
});

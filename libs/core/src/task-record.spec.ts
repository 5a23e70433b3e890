import { ContractError } from './errors';
import type { TaskManifest } from './manifest';
import { GateError, recordTask } from './task-record';

const rows = (read: number, passed: number, rejected: number, duplicates: number) => ({ read, passed, rejected, duplicates });

describe('recordTask', () => {
  it('saves a succeeded manifest with the counts and timing', async () => {
    const saved: TaskManifest[] = [];
    const m = await recordTask({ task: 't', ds: '2018-05-28', save: async (x) => void saved.push(x) }, async () => ({
      rows: rows(3, 2, 1, 0),
      rejectedByReason: { bad: 1 },
      files: [],
      outputs: [{ location: 's3://l/x/', rows: 2 }],
    }));
    expect(saved).toEqual([m]);
    expect(m).toMatchObject({ task: 't', ds: '2018-05-28', status: 'succeeded', rows: rows(3, 2, 1, 0), rejectedByReason: { bad: 1 } });
    expect(m.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('saves a failed manifest naming the error, then rethrows it', async () => {
    const saved: TaskManifest[] = [];
    await expect(recordTask({ task: 't', ds: 'd', save: async (x) => void saved.push(x) }, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(saved[0]).toMatchObject({ status: 'failed', error: 'boom' });
  });

  it('fails a task whose accounting does not close', async () => {
    const saved: TaskManifest[] = [];
    const run = recordTask({ task: 't', ds: 'd', save: async (x) => void saved.push(x) }, async () => ({ rows: rows(3, 1, 0, 0), files: [], outputs: [] }));
    await expect(run).rejects.toThrow(ContractError);
    expect(saved[0].error).toContain('read 3 != passed 1 + rejected 0 + duplicates 0');
  });

  it('keeps the counts of a task that failed its gate after doing its work', async () => {
    const saved: TaskManifest[] = [];
    const outcome = { rows: rows(4, 1, 3, 0), rejectedByReason: { bad: 3 }, files: [], outputs: [] };
    await expect(recordTask({ task: 't', ds: 'd', save: async (x) => void saved.push(x) }, async () => Promise.reject(new GateError('too many', outcome)))).rejects.toThrow('too many');
    expect(saved[0]).toMatchObject({ status: 'failed', error: 'too many', rows: rows(4, 1, 3, 0), rejectedByReason: { bad: 3 } });
  });
});

// A worker thread of validate-raw (check-pool.ts): checks the batches of rows it is sent, in order.
import { parentPort } from 'node:worker_threads';
import { checkBatch, type RowBatch } from './row-checks';

const port = parentPort;
if (!port) throw new Error('check-worker runs as a worker thread of validate-raw, not on its own');
port.on('message', (message: { id: number; batch: RowBatch }) => {
  port.postMessage({ id: message.id, rows: checkBatch(message.batch) });
});

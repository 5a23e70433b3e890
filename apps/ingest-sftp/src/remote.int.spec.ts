import { createServer, type Server, type Socket } from 'node:net';
import { ExternalError } from '@trips/core';
import { Remote } from './remote';

describe('connecting to an SFTP server that never completes the handshake', () => {
  let server: Server;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    // Accepts the connection, says nothing, and drops it a little later.
    server = createServer((s) => {
      sockets.push(s);
      setTimeout(() => s.destroy(), 300);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  });
  afterAll(async () => {
    sockets.forEach((s) => s.destroy());
    await new Promise((r) => server.close(r));
  });

  it('fails with an external error once, and survives the socket dropping afterwards (no unhandled error event)', async () => {
    const port = (server.address() as { port: number }).port;
    const failure = Remote.connect({ host: '127.0.0.1', port, username: 'u', password: 'p', hostKeySha256: 'SHA256:x', readyTimeoutMs: 100 });
    await expect(failure).rejects.toThrow(ExternalError);
    await expect(failure).rejects.toThrow(`sftp://u@127.0.0.1:${port}: could not connect: Timed out while waiting for handshake`);
    // The server drops the socket after the timeout: ssh2 reports it as a second error.
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    await new Promise((r) => setTimeout(r, 600));
    process.off('uncaughtException', onUncaught);
    expect(uncaught).toEqual([]);
  });
});

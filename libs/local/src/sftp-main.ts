/**
 * A standalone SFTP server process (for `trips local up`): serves the folder given as the first
 * argument and prints one JSON line with its address and host key fingerprint, then runs until
 * SIGTERM.
 */
import { startSftpServer } from './sftp-server';

const [root, port] = process.argv.slice(2);
startSftpServer({ root, port: port ? Number(port) : undefined }).then(
  (server) => {
    process.stdout.write(`${JSON.stringify({ port: server.port, username: server.username, password: server.password, hostKeyFingerprint: server.hostKeyFingerprint })}\n`);
    const stop = () => void server.close().then(() => process.exit(0));
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  },
  (e) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  },
);

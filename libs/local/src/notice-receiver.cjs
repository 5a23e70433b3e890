'use strict';
/**
 * The local stand-in for the DAG's notification endpoint (the Airflow connection `trips_webhook`;
 * SNS on AWS): keeps every JSON body POSTed to it as one line of a file.
 *
 *   node notice-receiver.cjs <file> [port] [host]
 *
 * Listens on `port` of `host` (default: a free port of 127.0.0.1; the Docker stack gives 8090 and
 * 0.0.0.0) and prints `{"port": N}` once listening; stops on SIGTERM.
 */
const fs = require('node:fs');
const http = require('node:http');

const file = process.argv[2];
const server = http.createServer((req, res) => {
  if (req.method !== 'POST') {
    res.writeHead(405).end();
    return;
  }
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    fs.appendFileSync(file, `${body.replace(/\n/g, ' ').trim()}\n`);
    res.writeHead(204).end();
  });
});
server.listen(Number(process.argv[3] ?? 0), process.argv[4] ?? '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));

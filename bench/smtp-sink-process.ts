/**
 * An SMTP sink for benchmarks, in a process of its own: accepts every message (no parsing),
 * counts them, and prints `listening <port>` once, then answers `count` on stdin with the number
 * of messages accepted so far, and `cpu` with its CPU time in ms.
 */
import { createInterface } from 'node:readline';
import { SMTPServer } from 'smtp-server';

let accepted = 0;
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  maxClients: 1_000,
  onData(stream, _session, callback) {
    stream.on('data', () => {});
    stream.on('end', () => {
      accepted++;
      callback();
    });
  },
});
// why: a client that goes away mid-session resets its connection; unheard, that error would end the sink
server.on('error', () => {});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.server.address() as { port: number }).port}\n`);
});
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'count') process.stdout.write(`count ${accepted}\n`);
  if (line === 'cpu') {
    const u = process.cpuUsage();
    process.stdout.write(`cpu ${(u.user + u.system) / 1000}\n`);
  }
  if (line === 'exit') server.close(() => process.exit(0));
});

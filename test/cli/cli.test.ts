import { describe, expect, inject, it } from 'vitest';
import { exitCode, freePort, spawnCli } from '../helpers/processes.js';

describe('fivetier CLI', () => {
  it.each([
    [['start'], { OLTP_DB_URL: 'not-a-url' }, /fivetier: OLTP_DB_URL: not a URL/],
    [['migrate'], { FIVETIER_HTTP_PORT: 'eighty' }, /fivetier: FIVETIER_HTTP_PORT: must be a whole number/],
    [['status'], { CONTENT_POOL_MAXX: '5' }, /fivetier: CONTENT_POOL_MAXX is not a fivetier setting/],
    [['no-such-command'], {}, /unknown command 'no-such-command'/],
  ])('%o with %o exits 2 with a message naming the problem', async (args, env, message) => {
    const child = spawnCli(args, env);
    expect(await exitCode(child)).toBe(2);
    expect(child.output()).toMatch(message);
    expect(child.output()).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });
});

describe('fivetier status', () => {
  it('exits 1 and says which tier is down when one is', async () => {
    const urls = inject('tierUrls');
    const dead = new URL(urls.olap);
    dead.port = String(await freePort());
    const child = spawnCli(['status'], {
      OLTP_DB_URL: urls.oltp,
      CONTENT_DB_URL: urls.content,
      OLAP_DB_URL: dead.toString(),
      QUEUE_DB_URL: urls.queue,
      NOTIFICATIONS_DB_URL: urls.notifications,
    });
    expect(await exitCode(child)).toBe(1);
    expect(child.output()).toMatch(/olap\s+down/);
    expect(child.output()).toMatch(/oltp\s+up/);
    expect(child.output()).toMatch(/overall: degraded/);
  });
});

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedServer } from '../../src/embedded/embedded-server.js';
import { freePort } from '../helpers/processes.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function waitUntilGone(pid: number): Promise<void> {
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
}

describe('the embedded server lifecycle', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fivetier-lifecycle-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('is not stopped under another process that reused it (a migrate ending beside a running service), and is stopped when nobody else uses it', async () => {
    const port = await freePort();
    const lines: string[] = [];
    const first = await startEmbeddedServer({ dataDir, port, databases: [], log: (l) => lines.push(l) });
    const pid = Number(readFileSync(join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
    // The other user: a second start on the same data reuses the running server.
    const second = await startEmbeddedServer({ dataDir, port, databases: [], log: (l) => lines.push(l) });
    expect(lines.join('\n')).toMatch(/reusing the embedded PostgreSQL already running/);
    const client = new pg.Client({ connectionString: second.urlFor('postgres') });
    client.on('error', () => {});
    await client.connect();
    try {
      await first.stop();
      expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
      expect(lines.join('\n')).toMatch(/leaving the embedded PostgreSQL running: 1 other connection uses it/);
    } finally {
      await client.end();
      await second.stop();
      process.kill(pid, 'SIGINT');
      await waitUntilGone(pid);
    }
    expect(alive(pid)).toBe(false);

    // Nobody else: stop() stops it.
    const third = await startEmbeddedServer({ dataDir, port, databases: [] });
    const thirdPid = Number(readFileSync(join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
    await third.stop();
    expect(alive(thirdPid)).toBe(false);
    expect(existsSync(join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
  }, 60_000);
});

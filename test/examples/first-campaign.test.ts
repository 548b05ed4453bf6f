import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { childEnv, freePort, spawnNpmStart, waitForOutput } from '../helpers/processes.js';

/**
 * The README's first walk, as a user would take it: `npm start` on the embedded default (the
 * build, then the service), then the README's library calls in another process
 * (examples/first-campaign.ts, which the README shows verbatim): every lead gets its message, as
 * an .eml file in the mail folder.
 */
describe("the README's first campaign", () => {
  const dir = mkdtempSync(`${tmpdir()}/fivetier-walk-`);
  chmodSync(dir, 0o755);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is the code the README shows', () => {
    const example = readFileSync('examples/first-campaign.ts', 'utf8').trim();
    const readme = readFileSync('README.md', 'utf8');
    expect(readme).toContain(example);
  });

  it('leaves one .eml file per lead in the mail folder of a running service', { timeout: 240_000 }, async () => {
    const env = {
      FIVETIER_DATA_DIR: `${dir}/data`,
      FIVETIER_MAIL_DIR: `${dir}/mail`,
      FIVETIER_EMBEDDED_PORT: String(await freePort()),
      FIVETIER_HTTP_PORT: String(await freePort()),
    };
    const service = await spawnNpmStart(env);
    try {
      await waitForOutput(service, /listening on/, 180_000);
      expect(service.output()).toContain(`each message is written as an .eml file into ${env.FIVETIER_MAIL_DIR}`);
      const walk = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'examples/first-campaign.ts'], { env: childEnv(env) });
      let out = '';
      walk.stdout.on('data', (d) => (out += d));
      walk.stderr.on('data', (d) => (out += d));
      const code = await new Promise<number | null>((resolve) => walk.once('close', resolve));
      expect(code, out).toBe(0);
      expect(out).toMatch(/campaign \S+ started for 3 leads/);
      const deadline = Date.now() + 30_000;
      let files: string[] = [];
      while (Date.now() < deadline) {
        files = existsSync(env.FIVETIER_MAIL_DIR) ? readdirSync(env.FIVETIER_MAIL_DIR).filter((f) => f.endsWith('.eml')) : [];
        if (files.length >= 3) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(files).toHaveLength(3);
      const recipients = files.map((f) => /^To: (.*)$/m.exec(readFileSync(`${env.FIVETIER_MAIL_DIR}/${f}`, 'utf8'))?.[1]).sort();
      expect(recipients).toEqual(['ada@example.com', 'edsger@example.com', 'grace@example.com']);
    } finally {
      service.interrupt();
      await service.ended;
      expect(service.output()).toContain('SIGINT: shutting down');
    }
  });
});

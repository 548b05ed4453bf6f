import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { childEnv, freePort, spawnNpmStart, waitForOutput } from '../helpers/processes.js';

/** The ```sh blocks of the README's "## The HTTP API" section, as written. */
function readmeApiBlocks(): string[] {
  const readme = readFileSync('README.md', 'utf8');
  const start = readme.indexOf('\n## The HTTP API\n');
  expect(start, 'README has a section "## The HTTP API"').toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 5);
  const section = readme.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/**
 * The README's HTTP walk as a user takes it: `npm start` (the build, then the service), then the
 * README's curl walk-through run as written with real curl, in one shell: every block
 * succeeds (curl --fail-with-body fails a block on any HTTP error).
 */
describe("the README's HTTP API walk-through", () => {
  const dir = mkdtempSync(`${tmpdir()}/fivetier-api-walk-`);
  chmodSync(dir, 0o755);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs every curl block against a started service', { timeout: 300_000 }, async () => {
    const blocks = readmeApiBlocks();
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    const env = {
      FIVETIER_DATA_DIR: `${dir}/data`,
      FIVETIER_MAIL_DIR: `${dir}/mail`,
      FIVETIER_EMBEDDED_PORT: String(await freePort()),
      FIVETIER_HTTP_PORT: String(await freePort()),
    };
    const service = await spawnNpmStart(env);
    try {
      await waitForOutput(service, /listening on/, 240_000);
      expect(service.output()).toContain(`generated an operator key into ${dir}/data/operator-key`);
      const script = ['set -eo pipefail', ...blocks.flatMap((b, i) => [b, `echo "@@ block ${i + 1} ok"`])].join('\n');
      const walk = spawn('bash', ['-c', script], { env: childEnv(env), cwd: dir });
      let out = '';
      walk.stdout.on('data', (d) => (out += d));
      walk.stderr.on('data', (d) => (out += d));
      const code = await new Promise<number | null>((resolve) => walk.once('close', resolve));
      expect(code, out).toBe(0);
      for (let i = 1; i <= blocks.length; i++) expect(out).toContain(`@@ block ${i} ok`);
      expect(out).toMatch(/"rows":2,"imported":2,"failed":0/);
      expect(out).toMatch(/"status":"sending"/);
      expect(out).toMatch(/"totals":\{/);
      // no key reached the service's output
      const key = /key (ft_live_\S{8})\.\.\./.exec(out)?.[1];
      expect(key).toBeDefined();
      expect(service.output()).not.toContain(readFileSync(`${dir}/data/operator-key`, 'utf8').trim());
      // the campaign's two emails and the single send go out (as .eml files here)
      const deadline = Date.now() + 30_000;
      let files: string[] = [];
      while (Date.now() < deadline) {
        files = existsSync(env.FIVETIER_MAIL_DIR) ? readdirSync(env.FIVETIER_MAIL_DIR).filter((f) => f.endsWith('.eml')) : [];
        if (files.length >= 2) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(files.length).toBeGreaterThanOrEqual(2);
    } finally {
      service.interrupt();
      await service.ended;
      expect(service.output()).toContain('SIGINT: shutting down');
    }
  });
});

import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../src/api/server.js';
import type { Fivetier } from '../../src/platform.js';
import type { Service } from '../../src/service.js';
import { newTenant, openTestFivetier } from '../helpers/platform.js';
import { HAVE_REDIS_SERVER } from '../helpers/redis-server.js';
import { PrivateRedis } from '../helpers/redis-server.js';
import { openProxiedTiers, startOpsService } from './ops-harness.js';
import { waitFor } from '../helpers/poll.js';

/**
 * The metrics and the alerting rules as Prometheus itself reads them: `promtool check metrics`
 * on /metrics, `promtool check rules` and the rules' unit tests (ops/prometheus/). promtool comes
 * from Debian's `prometheus` package, which CI installs.
 */
const promtool = spawnSync('promtool', ['--version']).status === 0;

describe.skipIf(!promtool)('Prometheus (promtool)', () => {
  let ft: Fivetier;
  beforeAll(async () => {
    ft = await openTestFivetier();
  });
  afterAll(async () => ft?.close());

  it('accepts /metrics', async () => {
    const app = await buildServer({ fivetier: ft });
    try {
      await ft.oltp.withTenant(newTenant(), (c) => c.query('select 1'));
      const body = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      const check = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
      expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
    } finally {
      await app.close();
    }
  });

  it.skipIf(!HAVE_REDIS_SERVER)('accepts /metrics of a running service (Redis, maintenance, alerts, jobs) over HTTP', { timeout: 60_000 }, async () => {
    const env = await openProxiedTiers('promtool');
    const redis = await PrivateRedis.start();
    let svc: Service | undefined;
    try {
      svc = await startOpsService(env.proxied, { redisUrl: redis.url, sweepIntervalMs: 200, checkIntervalMs: 300 });
      const running = svc;
      await waitFor('a consistency check', async () => (await (await fetch(`${running.address}/metrics`)).text()).includes('fivetier_maintenance_runs_total{task="consistency check",result="ok"}'), 20_000);
      await fetch(`${svc.address}/health`);
      const body = await (await fetch(`${svc.address}/metrics`)).text();
      for (const name of ['fivetier_redis_up 1', 'fivetier_maintenance_leader 1', 'fivetier_consistency_check_runs_total{result="clean"}', 'fivetier_queue_dead_letters', 'fivetier_tier_circuit_open{tier="queue"} 0']) expect(body).toContain(name);
      const check = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
      expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
    } finally {
      await svc?.stop();
      await redis.stop();
      await env.close();
    }
  });

  it('accepts the alerting rules and their unit tests', () => {
    const rules = spawnSync('promtool', ['check', 'rules', 'fivetier-alerts.yml'], { cwd: 'ops/prometheus', encoding: 'utf8' });
    expect(rules.status, `${rules.stdout}${rules.stderr}`).toBe(0);
    expect(rules.stdout).toMatch(/SUCCESS: 10 rules found/);
    const tests = spawnSync('promtool', ['test', 'rules', 'fivetier-alerts.test.yml'], { cwd: 'ops/prometheus', encoding: 'utf8' });
    expect(tests.status, `${tests.stdout}${tests.stderr}`).toBe(0);
  });
});

if (!promtool) console.warn('promtool is not installed (Debian package prometheus): the Prometheus checks are skipped');

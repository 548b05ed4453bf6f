import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/service.js';
import { TIER_NAMES } from '../../src/types.js';
import { OPS_OPERATOR_KEY, openProxiedTiers, startOpsService } from './ops-harness.js';

/**
 * Must-show 4: the dashboard in a real browser (playwright-core driving Debian's Chromium, which
 * CI installs): all five tiers up, one turns red when it is cut and green when it returns, with
 * screenshots in test-output/. The dashboard is operator-only: without credentials the browser
 * gets the Basic auth challenge; with the operator key as the password the page and its polls load.
 */
const CHROMIUM = '/usr/bin/chromium';
const RED = 'rgb(214, 69, 69)';
const GREEN = 'rgb(31, 157, 85)';

describe.skipIf(!existsSync(CHROMIUM))('the operations dashboard in Chromium', () => {
  let env: Awaited<ReturnType<typeof openProxiedTiers>>;
  let svc: Service;
  let browser: Browser;
  beforeAll(async () => {
    env = await openProxiedTiers('dashboard');
    svc = await startOpsService(env.proxied);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    mkdirSync('test-output', { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await svc?.stop();
    await env?.close();
  });

  it('meets a browser without the operator key with the Basic auth challenge, and shows it nothing', async () => {
    for (const httpCredentials of [undefined, { username: 'operator', password: 'not-the-operator-key' }]) {
      const context = await browser.newContext(httpCredentials ? { httpCredentials } : {});
      try {
        const page = await context.newPage();
        const answers: Array<{ status: number; challenge: string | null }> = [];
        page.on('response', (res) => void answers.push({ status: res.status(), challenge: res.headers()['www-authenticate'] ?? null }));
        // why: headless Chromium has no prompt to show: it either shows the 401 or gives up on the challenge
        const res = await page.goto(`${svc.address}/dashboard`).catch((err: Error) => {
          expect(err.message).toMatch(/ERR_INVALID_AUTH_CREDENTIALS/);
          return null;
        });
        if (res) expect(res.status()).toBe(401);
        expect(answers.length).toBeGreaterThan(0);
        for (const a of answers) expect(a).toEqual({ status: 401, challenge: expect.stringMatching(/^Basic realm="fivetier dashboard"/) });
        expect(await page.locator('.tier').count()).toBe(0);
      } finally {
        await context.close();
      }
    }
  });

  it('shows every tier up, one red while it is cut and green again when it returns', { timeout: 90_000 }, async () => {
    // The operator key as the Basic password, as an operator types it into the browser's prompt.
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, httpCredentials: { username: 'operator', password: OPS_OPERATOR_KEY } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    // Some traffic, so the charts and the top tenants have something to show.
    const tenant = '6d0f4f0e-2b1a-4c39-9d4e-5a1f2e3d4c5b';
    const traffic = setInterval(() => void svc.fivetier.oltp.withTenant(tenant, (c) => c.query('select pg_sleep(0.002)')).catch(() => {}), 100);
    try {
      await page.goto(`${svc.address}/dashboard?refresh=500`);
      const card = (tier: string) => page.locator(`.tier[data-tier="${tier}"]`);
      for (const t of TIER_NAMES) await expect.poll(() => card(t).getAttribute('data-status'), { timeout: 15_000 }).toBe('up');
      await expect.poll(() => page.locator('#overall').textContent()).toBe('up');
      // The charts are drawn (uPlot, served by the service itself).
      await expect.poll(() => page.locator('.uplot').count(), { timeout: 10_000 }).toBe(4);
      await page.waitForTimeout(2_000);
      await page.screenshot({ path: 'test-output/dashboard-all-up.png', fullPage: true });
      // why: one evaluation finds the card and reads its style; the page redraws the cards on every
      // refresh, and a card found first and read after a redraw is detached (its style reads '')
      const colour = (tier: string) =>
        page.evaluate((t) => {
          const g = globalThis as unknown as { document: { querySelector: (s: string) => unknown }; getComputedStyle: (e: unknown) => { borderTopColor: string } };
          return g.getComputedStyle(g.document.querySelector(`.tier[data-tier="${t}"]`)).borderTopColor;
        }, tier);
      expect(await colour('content')).toBe(GREEN);

      env.proxies.content.down();
      await expect.poll(() => card('content').getAttribute('data-status'), { timeout: 20_000 }).toBe('down');
      expect(await colour('content')).toBe(RED);
      // why: a health check may see the tier down a moment before the watchdog's probe opens the circuit
      await expect.poll(() => card('content').getAttribute('data-circuit'), { timeout: 10_000 }).toBe('open');
      await expect.poll(() => page.locator('#overall').textContent()).toBe('degraded');
      await expect.poll(() => page.locator('[data-alert="tier_down:content"]').count(), { timeout: 15_000 }).toBe(1);
      for (const t of TIER_NAMES) if (t !== 'content') expect(await card(t).getAttribute('data-status'), t).toBe('up');
      await page.screenshot({ path: 'test-output/dashboard-content-down.png', fullPage: true });

      env.proxies.content.up();
      await expect.poll(() => card('content').getAttribute('data-status'), { timeout: 20_000 }).toBe('up');
      expect(await colour('content')).toBe(GREEN);
      await expect.poll(() => page.locator('#overall').textContent()).toBe('up');
      await expect.poll(() => page.locator('[data-alert="tier_down:content"]').count(), { timeout: 15_000 }).toBe(0);
      await page.screenshot({ path: 'test-output/dashboard-content-back.png', fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      clearInterval(traffic);
      await context.close();
    }
  });
});

if (!existsSync(CHROMIUM)) console.warn(`${CHROMIUM} is missing (Debian package chromium): the dashboard browser test is skipped`);

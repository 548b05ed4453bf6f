import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { openScratchFivetier } from '../helpers/cross-tier.js';
import { exitCode, spawnCli, type TestChild } from '../helpers/processes.js';

/**
 * The operator CLI (issue 12, must-show 5). The command list comes from the program itself, so
 * a command added later is covered without touching this file: every command and subcommand
 * answers `--help` with its usage (exit 0) and an unknown option with a message (exit 2).
 */
function commandPaths(command: Command, prefix: string[] = []): string[][] {
  return command.commands.flatMap((c) => {
    const path = [...prefix, c.name()];
    return [path, ...commandPaths(c, path)];
  });
}

const PATHS = commandPaths(buildProgram());

/** Run the children `limit` at a time (each is a Node process compiling TypeScript). */
async function runAll<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: limit }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
  }));
}

async function finished(child: TestChild): Promise<{ code: number | null; out: string }> {
  const code = await exitCode(child);
  return { code, out: child.output() };
}

describe('every fivetier command', () => {
  it('has the commands the operator guide lists', () => {
    expect(PATHS.filter((p) => p.length === 1).map((p) => p[0]).sort()).toEqual(['bench', 'check', 'cleanup', 'demo', 'erase', 'migrate', 'queue', 'retention', 'start', 'status'].sort());
  });

  it('answers --help with its usage and exit code 0, and an unknown option with a message and exit code 2', { timeout: 300_000 }, async () => {
    const failures: string[] = [];
    await runAll(PATHS, 4, async (path) => {
      const help = await finished(spawnCli([...path, '--help'], {}));
      if (help.code !== 0 || !help.out.includes(`Usage: fivetier ${path.join(' ')}`)) failures.push(`${path.join(' ')} --help: exit ${help.code}\n${help.out}`);
      const bad = await finished(spawnCli([...path, '--no-such-option'], {}));
      if (bad.code !== 2 || !/unknown option '--no-such-option'/.test(bad.out) || /\n\s+at /.test(bad.out)) failures.push(`${path.join(' ')} --no-such-option: exit ${bad.code}\n${bad.out}`);
    });
    expect(failures).toEqual([]);
  });

  it.each([
    [['erase', 'address', 'not-a-uuid', 'a@example.com'], /tenant must be a uuid/],
    [['erase', 'address', '6f9619ff-8b86-4011-b42d-00c04fc964ff', 'not-an-address'], /address must be an email address/],
    [['erase', 'tenant', '6f9619ff-8b86-4011-b42d-00c04fc964ff'], /add --yes to confirm/],
    [['erase', 'tenant', '6f9619ff-8b86-4011-b42d-00c04fc964ff', '--yes', '--batch-size', '0'], /--batch-size must be an integer 1\.\.100000/],
    [['retention', '--rule', 'queue.nothing'], /unknown rule "queue\.nothing"/],
    [['retention', '--as-of', 'yesterday'], /--as-of must be an ISO time/],
    [['retention', '--tenant', '42'], /--tenant must be a uuid/],
    [['cleanup', '--grace', '-1'], /--grace must be an integer 0\.\./],
    [['demo', '--leads', '0'], /--leads must be an integer 1\.\.10000/],
    [['bench', 'no-such-bench'], /no benchmark named "no-such-bench"/],
    [['status', 'extra'], /too many arguments for 'status'/],
    [['no-such-command'], /unknown command 'no-such-command'/],
  ])('%o exits 2 with a message naming the problem', async (args, message) => {
    const { code, out } = await finished(spawnCli(args, {}));
    expect(code, out).toBe(2);
    expect(out).toMatch(message);
    expect(out).not.toMatch(/\n\s+at /);
  });

  it('bench lists the package\'s bench:* scripts', async () => {
    const { code, out } = await finished(spawnCli(['bench', '--json'], {}));
    expect(code, out).toBe(0);
    const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;
    const expected = Object.keys(scripts).filter((k) => k.startsWith('bench:')).map((k) => k.slice(6));
    expect((JSON.parse(out) as Array<{ name: string }>).map((b) => b.name).sort()).toEqual(expected.sort());
  });
});

describe('fivetier demo, then fivetier status', () => {
  let env: Record<string, string>;
  let drop: () => Promise<void>;
  const mailDir = mkdtempSync(join(tmpdir(), 'fivetier-demo-mail-'));

  beforeAll(async () => {
    ({ env, drop } = await openScratchFivetier('cli_demo'));
    // why: the test server is shared; small pools keep the demo's connections few
    const pools = Object.fromEntries(['OLTP', 'CONTENT', 'OLAP', 'QUEUE', 'NOTIFICATIONS'].map((t) => [`${t}_POOL_MAX`, '5']));
    env = { ...env, ...pools, FIVETIER_SYSTEM_POOL_MAX: '3', FIVETIER_MAIL_DIR: mailDir };
  });
  afterAll(async () => {
    await drop?.();
    rmSync(mailDir, { recursive: true, force: true });
  });

  it('seeds a tenant whose campaigns, sends and delivery events show in status', { timeout: 240_000 }, async () => {
    const before = await finished(spawnCli(['status', '--json'], env));
    expect(before.code, before.out).toBe(0);
    expect(JSON.parse(before.out).queue.byState.completed ?? 0).toBe(0);

    const demo = await finished(spawnCli(['demo', '--leads', '12', '--campaigns', '2', '--json', '--no-progress'], env));
    expect(demo.code, demo.out).toBe(0);
    const report = JSON.parse(demo.out);
    expect(report.campaignIds).toHaveLength(2);
    expect(report.sent).toBe(10); // 12 leads, 2 suppressed
    expect(report.events.delivered).toBeGreaterThan(0);

    const check = await finished(spawnCli(['check', '--no-progress'], env));
    expect(check.code, check.out).toBe(0);

    const status = await finished(spawnCli(['status', '--json'], env));
    expect(status.code, status.out).toBe(0);
    const s = JSON.parse(status.out);
    expect(s.status).toBe('up');
    // campaign.process x2, email.send and track_email_sent at least one per campaign (they carry
    // groups of emails), delivery.event per event, campaign completed x2
    expect(s.queue.byState.completed).toBeGreaterThanOrEqual(2 + 2 + 2 + report.events.delivered + 2);
    expect(s.outbox).toEqual({ count: 0, oldestAgeSeconds: 0 });
    expect(s.maintenance.find((m: { task: string }) => m.task === 'consistency-check')).toMatchObject({ ok: true, summary: { clean: true } });
    expect(s.alerts).toEqual([]);
    expect(Object.keys(s.pools).sort()).toEqual(['content', 'notifications', 'olap', 'oltp', 'queue']);

    const text = await finished(spawnCli(['status'], env));
    expect(text.code, text.out).toBe(0);
    for (const tier of ['oltp', 'content', 'olap', 'queue', 'notifications']) expect(text.out).toMatch(new RegExp(`^${tier}\\s+up\\s+[\\d.]+ ms`, 'm'));
    expect(text.out).toMatch(/^overall: up$/m);
    expect(text.out).toMatch(/^POOL\s+MAX/m);
    expect(text.out).toMatch(/^\s+queued \d+\s+dispatched \d+\s+running \d+\s+completed [1-9]\d*/m);
    expect(text.out).toMatch(/^OUTBOX\n\s+0 waiting$/m);
    expect(text.out).toMatch(/^\s+consistency-check\s+\S+ ok/m);
    expect(text.out).toMatch(/^ALERTS\n\s+none firing$/m);

    const plan = await finished(spawnCli(['retention', '--dry-run', '--json', '--no-progress'], env));
    expect(plan.code, plan.out).toBe(0);
    expect(JSON.parse(plan.out)).toMatchObject({ dryRun: true, total: 0 });

    const sweep = await finished(spawnCli(['cleanup', '--json'], env));
    expect(sweep.code, sweep.out).toBe(0);
    expect(JSON.parse(sweep.out)).toMatchObject({ deleted: 0 });

    const erase = await finished(spawnCli(['erase', 'address', report.tenantId, `lead0+${report.tenantId.slice(0, 8)}@demo.example`, '--json', '--no-progress'], env));
    expect(erase.code, erase.out).toBe(0);
    expect(JSON.parse(erase.out).counts['oltp.leads']).toBe(1);
    const pending = await finished(spawnCli(['erase', 'list'], env));
    expect(pending.code, pending.out).toBe(0);
    expect(pending.out).toMatch(/^no erasure in progress$/m);
  });
});

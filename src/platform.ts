import { embeddedTiers, loadConfig, type ConfigOverrides, type FivetierConfig } from './config/config.js';
import { withSafeView } from './config/redact.js';
import { startEmbeddedServer, type EmbeddedServer } from './embedded/embedded-server.js';
import { catchUpMigrations } from './migrate/catch-up.js';
import { TenantPerformance } from './ops/tenant-performance.js';
import { migrateTier, type MigrateResult } from './migrate/migrator.js';
import type { BackgroundLoop } from './runtime/background-loop.js';
import { describeConnectionError, isConnectionError } from './tiers/connection-errors.js';
import { TierClient, type TierHealth } from './tiers/tier-client.js';
import { EMBEDDED_DATABASE_NAMES, TIER_NAMES, type TierName } from './types.js';

export interface OpenOptions {
  /** Configuration; defaults to `loadConfig(process.env)`. */
  config?: FivetierConfig;
  /** Apply pending migrations on every tier before returning (default true). */
  migrate?: boolean;
  /** Progress lines (embedded server start, applied migrations, tiers down and back). */
  log?: (line: string) => void;
  /**
   * A tier with a URL that cannot be reached for its migrations: `defer` (default) opens the
   * platform with that tier down (its calls fail with FT_ERR_TIER_UNAVAILABLE, "not migrated
   * yet") and migrates it as soon as it answers; `fail` throws instead.
   */
  unreachableTiers?: 'defer' | 'fail';
}

/**
 * The five tiers, connected. Tiers with a URL use it; the rest share one embedded PostgreSQL
 * server, one database each.
 *
 * @example
 * const ft = await openFivetier();
 * await ft.oltp.withTenant(tenantId, (c) => c.query('select count(*) from emails'));
 * await ft.close();
 */
export class Fivetier {
  readonly config: FivetierConfig;
  readonly tiers: Readonly<Record<TierName, TierClient>>;
  /** Admin URL per tier; private, as it carries the admin's password (see adminUrl). */
  readonly #adminUrls: Readonly<Record<TierName, string>>;
  /** Which tiers run on the embedded server. */
  readonly embedded: readonly TierName[];
  /** What the migrator applied (when the platform opened, and to tiers migrated later; empty when `migrate: false`). */
  migrations: readonly MigrateResult[];
  readonly #server: EmbeddedServer | undefined;
  readonly #catchUps: BackgroundLoop[] = [];
  /** Calls and latency per tenant in this process (top tenants by volume or latency). */
  readonly tenantPerformance = new TenantPerformance();

  constructor(args: {
    config: FivetierConfig;
    adminUrls: Record<TierName, string>;
    rolePassword: string | undefined;
    embedded: TierName[];
    server: EmbeddedServer | undefined;
    migrations: MigrateResult[];
    /** Tiers that were unreachable for their migrations: migrated when they answer. */
    deferred?: TierName[];
    /** Databases to create on another server of the same tier set (the queue store on OLTP's). */
    createDatabaseVia?: Partial<Record<TierName, string>>;
    log?: (line: string) => void;
  }) {
    this.config = args.config;
    this.#adminUrls = Object.freeze(args.adminUrls);
    this.embedded = Object.freeze(args.embedded);
    this.migrations = Object.freeze(args.migrations);
    this.#server = args.server;
    const tiers = {} as Record<TierName, TierClient>;
    for (const name of TIER_NAMES) {
      tiers[name] = new TierClient(args.config.tiers[name], {
        url: args.adminUrls[name],
        rolePassword: args.rolePassword,
        systemPoolMax: args.config.systemPoolMax,
        timeoutMs: args.config.tierTimeoutMs,
        onTenantCall: (tenantId, tier, ms) => this.tenantPerformance.record(tenantId, tier, ms),
      });
    }
    this.tiers = Object.freeze(tiers);
    const log = args.log ?? (() => {});
    for (const name of args.deferred ?? []) {
      tiers[name].markNotReady('not migrated yet: the tier was unreachable when the platform opened');
      this.#catchUps.push(catchUpMigrations(tiers[name], args.adminUrls[name], { rolePassword: args.rolePassword, createDatabaseVia: args.createDatabaseVia, log, onMigrated: (m) => (this.migrations = Object.freeze([...this.migrations, m])) }));
    }
    for (const name of TIER_NAMES) {
      tiers[name].on('down', (reason) => log(`${name}: down (${reason}); its calls fail fast until it answers`));
      tiers[name].on('up', () => log(`${name}: up`));
    }
    // why: console.log(ft) or JSON.stringify(ft) must not print a password
    withSafeView(this, () => ({ embedded: this.embedded, tiers: TIER_NAMES, config: this.config, migrations: this.migrations }));
  }

  /** A tier's admin URL, password included (migrations, maintenance tooling). Not for logs. */
  adminUrl(tier: TierName): string {
    return this.#adminUrls[tier];
  }

  get oltp(): TierClient {
    return this.tiers.oltp;
  }
  get content(): TierClient {
    return this.tiers.content;
  }
  get olap(): TierClient {
    return this.tiers.olap;
  }
  get queue(): TierClient {
    return this.tiers.queue;
  }
  get notifications(): TierClient {
    return this.tiers.notifications;
  }

  /** Health of every tier, checked in parallel. Never throws. */
  health(): Promise<TierHealth[]> {
    return Promise.all(TIER_NAMES.map((t) => this.tiers[t].health()));
  }

  /** Close every pool, then stop the embedded server if this process started it. */
  async close(): Promise<void> {
    await Promise.all(this.#catchUps.map((l) => l.stop()));
    await Promise.all(TIER_NAMES.map((t) => this.tiers[t].close()));
    await this.#server?.stop();
  }
}

/**
 * Connect the five tiers: start the embedded server for tiers without a URL, apply migrations
 * (unless `migrate: false`), and create the pools. Throws on a bad configuration, an embedded
 * server that cannot start, or a failed migration.
 */
export async function openFivetier(options: OpenOptions = {}): Promise<Fivetier> {
  const config = options.config ?? loadConfig(process.env);
  const log = options.log ?? (() => {});
  const embedded = embeddedTiers(config);

  let server: EmbeddedServer | undefined;
  if (embedded.length > 0) {
    server = await startEmbeddedServer({
      dataDir: config.embedded.dataDir,
      dataDirIsDefault: config.embedded.dataDirIsDefault,
      port: config.embedded.port,
      databases: embedded.map((t) => EMBEDDED_DATABASE_NAMES[t]),
      log,
    });
    log(`embedded PostgreSQL for ${embedded.join(', ')} (data in ${server.dataDir})`);
  }

  const adminUrls = {} as Record<TierName, string>;
  for (const t of TIER_NAMES) adminUrls[t] = config.tiers[t].url ?? server!.urlFor(EMBEDDED_DATABASE_NAMES[t]);
  // The embedded server keeps its own generated role password; an explicit one wins.
  const rolePassword = config.rolePassword ?? server?.rolePassword;

  const createDatabaseVia: Partial<Record<TierName, string>> = config.tiers.queue.urlFrom === 'oltp-server' ? { queue: adminUrls.oltp } : {};
  let migrations: MigrateResult[] = [];
  const deferred: TierName[] = [];
  if (options.migrate !== false) {
    const migrateOptions = {
      rolePassword,
      // The queue store on the OLTP server gets its own database, made on first migration.
      createDatabaseVia,
      onApplied: (tier: TierName, name: string) => log(`${tier}: applied ${name}`),
    };
    const settled = await Promise.allSettled(TIER_NAMES.map((t) => migrateTier(t, adminUrls[t], migrateOptions)));
    let failure: unknown;
    settled.forEach((s, i) => {
      const tier = TIER_NAMES[i]!;
      if (s.status === 'fulfilled') migrations.push(s.value);
      // why: one tier down must not keep the platform from starting (DESIGN.md section 7)
      else if (isConnectionError(s.reason) && options.unreachableTiers !== 'fail' && !embedded.includes(tier)) {
        deferred.push(tier);
        log(`${tier}: unreachable (${describeConnectionError(s.reason)}); starting without it, it is migrated when it answers`);
      } else failure ??= s.reason;
    });
    if (deferred.length === TIER_NAMES.length) failure ??= settled.map((s) => (s as PromiseRejectedResult).reason)[0];
    if (failure !== undefined) {
      await server?.stop();
      throw failure;
    }
  }
  return new Fivetier({ config, adminUrls, rolePassword, embedded, server, migrations, deferred, createDatabaseVia, log });
}

export { loadConfig, type ConfigOverrides };

import { embeddedTiers, loadConfig, type ConfigOverrides, type FivetierConfig } from './config/config.js';
import { startEmbeddedServer, type EmbeddedServer } from './embedded/embedded-server.js';
import { migrateTiers, type MigrateResult } from './migrate/migrator.js';
import { TierClient, type TierHealth } from './tiers/tier-client.js';
import { EMBEDDED_DATABASE_NAMES, TIER_NAMES, type TierName } from './types.js';

export interface OpenOptions {
  /** Configuration; defaults to `loadConfig(process.env)`. */
  config?: FivetierConfig;
  /** Apply pending migrations on every tier before returning (default true). */
  migrate?: boolean;
  /** Progress lines (embedded server start, applied migrations). */
  log?: (line: string) => void;
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
  /** Admin URL per tier (migrations, maintenance tooling). */
  readonly adminUrls: Readonly<Record<TierName, string>>;
  /** Which tiers run on the embedded server. */
  readonly embedded: readonly TierName[];
  /** What the migrator applied when the platform opened (empty when `migrate: false`). */
  readonly migrations: readonly MigrateResult[];
  readonly #server: EmbeddedServer | undefined;

  constructor(args: {
    config: FivetierConfig;
    adminUrls: Record<TierName, string>;
    rolePassword: string | undefined;
    embedded: TierName[];
    server: EmbeddedServer | undefined;
    migrations: MigrateResult[];
  }) {
    this.config = args.config;
    this.adminUrls = Object.freeze(args.adminUrls);
    this.embedded = Object.freeze(args.embedded);
    this.migrations = Object.freeze(args.migrations);
    this.#server = args.server;
    const tiers = {} as Record<TierName, TierClient>;
    for (const name of TIER_NAMES) {
      tiers[name] = new TierClient(args.config.tiers[name], {
        url: args.adminUrls[name],
        rolePassword: args.rolePassword,
        systemPoolMax: args.config.systemPoolMax,
      });
    }
    this.tiers = Object.freeze(tiers);
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
    log(`embedded PostgreSQL for ${embedded.join(', ')} (data in ${config.embedded.dataDir})`);
    server = await startEmbeddedServer({
      dataDir: config.embedded.dataDir,
      port: config.embedded.port,
      databases: embedded.map((t) => EMBEDDED_DATABASE_NAMES[t]),
      log,
    });
  }

  const adminUrls = {} as Record<TierName, string>;
  for (const t of TIER_NAMES) adminUrls[t] = config.tiers[t].url ?? server!.urlFor(EMBEDDED_DATABASE_NAMES[t]);
  // The embedded server keeps its own generated role password; an explicit one wins.
  const rolePassword = config.rolePassword ?? server?.rolePassword;

  let migrations: MigrateResult[] = [];
  try {
    if (options.migrate !== false) {
      migrations = await migrateTiers(adminUrls, {
        rolePassword,
        onApplied: (tier, name) => log(`${tier}: applied ${name}`),
      });
    }
  } catch (err) {
    await server?.stop();
    throw err;
  }
  return new Fivetier({ config, adminUrls, rolePassword, embedded, server, migrations });
}

export { loadConfig, type ConfigOverrides };

/**
 * The secrets of tracking tokens and of the delivery-event webhook: from the settings
 * (`FIVETIER_TRACKING_SECRET`, `FIVETIER_WEBHOOK_SECRET`), else generated once into the data
 * folder as `tracking-secrets.json` (mode 0600, like the embedded server's `secrets.json`), so a
 * first run needs no setting and a restart keeps every link in sent emails working.
 *
 * The secrets never reach a tier, a log line or an error message: only key ids (a one-way
 * fingerprint) leave this module.
 */
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { FivetierConfig } from '../config/config.js';
import { readOrCreatePrivateFile } from '../config/private-file.js';
import { withSafeView } from '../config/redact.js';
import { FivetierError } from '../errors/codes.js';
import { signingKey, type SigningKey } from './token.js';

/** The file, in the data folder, that holds generated secrets. */
export const GENERATED_SECRETS_FILE = 'tracking-secrets.json';

/** The keys in use. Printing this object shows no secret. */
export interface TrackingSecrets {
  /** Token keys, newest first: the first signs, all verify. */
  readonly tracking: readonly SigningKey[];
  /** Webhook secrets: a signature by any one is accepted. */
  readonly webhook: readonly Buffer[];
  /** Where each came from; `file` names the generated file. */
  readonly source: { readonly tracking: 'setting' | 'generated'; readonly webhook: 'setting' | 'generated'; readonly file?: string };
}

interface GeneratedFile {
  trackingSecret: string;
  webhookSecret: string;
}

const cache = new WeakMap<FivetierConfig, TrackingSecrets>();

/**
 * The secrets for a configuration, read (or generated) once per configuration object. Throws
 * FT_ERR_CONFIG_INVALID when the generated file is needed and cannot be read or written.
 *
 * @example
 * const { tracking } = trackingSecrets(ft.config);
 * const token = signToken(tracking[0]!, { kind: 'open', tenantId, emailId });
 */
export function trackingSecrets(config: FivetierConfig): TrackingSecrets {
  const known = cache.get(config);
  if (known) return known;
  const { secrets, webhookSecrets } = config.tracking;
  const needFile = secrets === undefined || webhookSecrets === undefined;
  const file = needFile ? join(resolve(config.embedded.dataDir), GENERATED_SECRETS_FILE) : undefined;
  const generated = file ? loadOrGenerate(file) : undefined;
  const result: TrackingSecrets = {
    tracking: Object.freeze((secrets ?? [generated!.trackingSecret]).map((s) => signingKey(s))),
    webhook: Object.freeze((webhookSecrets ?? [generated!.webhookSecret]).map((s) => Buffer.from(s, 'utf8'))),
    source: Object.freeze({ tracking: secrets ? 'setting' : 'generated', webhook: webhookSecrets ? 'setting' : 'generated', ...(file ? { file } : {}) }),
  };
  Object.freeze(withSafeView(result, () => ({ tracking: result.tracking.map((k) => `key ${k.id.toString('hex')}`), webhook: result.webhook.map(() => '***'), source: result.source })));
  cache.set(config, result);
  return result;
}

const configError = (why: string, cause?: unknown) => new FivetierError('FT_ERR_CONFIG_INVALID', ['FIVETIER_TRACKING_SECRET / FIVETIER_WEBHOOK_SECRET', why], { cause });

/**
 * Read the generated secrets, or make them once (readOrCreatePrivateFile: two processes starting
 * at once on one data folder end up with the same secrets).
 */
function loadOrGenerate(file: string): GeneratedFile {
  let text: string;
  try {
    text = readOrCreatePrivateFile(file, () => JSON.stringify({ trackingSecret: randomBytes(32).toString('base64url'), webhookSecret: randomBytes(32).toString('base64url') } satisfies GeneratedFile)).text;
  } catch (err) {
    throw configError(`not set, and ${file} cannot be read or written (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, err);
  }
  let parsed: Partial<GeneratedFile>;
  try {
    parsed = JSON.parse(text) as Partial<GeneratedFile>;
  } catch (err) {
    throw configError(`not set, and ${file} is not valid JSON; remove it to generate new secrets (links in emails sent so far stop working)`, err);
  }
  if (typeof parsed.trackingSecret !== 'string' || typeof parsed.webhookSecret !== 'string') {
    throw configError(`not set, and ${file} lacks trackingSecret or webhookSecret; remove it to generate new secrets`);
  }
  return parsed as GeneratedFile;
}

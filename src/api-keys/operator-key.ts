/**
 * The operator key: the one key of the operator routes (tenants, their keys, the queue across
 * tenants, consistency reports). It comes from FIVETIER_OPERATOR_KEY; on the embedded default
 * without it, one is generated once into `<data folder>/operator-key` (mode 0600, the folder's
 * owner only) and start-up says where it is, never what it is.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readOrCreatePrivateFile } from '../config/private-file.js';
import { FivetierError } from '../errors/codes.js';

export const OPERATOR_KEY_FILE = 'operator-key';
/** Shorter keys are refused: the operator key opens every tenant. */
export const OPERATOR_KEY_MIN_LENGTH = 32;

/**
 * The operator key to accept, or undefined (operator routes then answer 403). `fromEnv` wins;
 * otherwise, when `dataDir` is given (the embedded default), the key in its file, made on first run.
 * Throws FT_ERR_CONFIG_INVALID for a key from the environment shorter than OPERATOR_KEY_MIN_LENGTH.
 */
export function resolveOperatorKey(options: { fromEnv: string | undefined; dataDir: string | undefined; log: (line: string) => void }): string | undefined {
  if (options.fromEnv) {
    if (options.fromEnv.length < OPERATOR_KEY_MIN_LENGTH) throw new FivetierError('FT_ERR_CONFIG_INVALID', ['FIVETIER_OPERATOR_KEY', `must be at least ${OPERATOR_KEY_MIN_LENGTH} characters`]);
    options.log('api: operator key from FIVETIER_OPERATOR_KEY');
    return options.fromEnv;
  }
  if (options.dataDir === undefined) {
    options.log('api: no FIVETIER_OPERATOR_KEY: the operator routes (/v1/tenants, /v1/admin/...) are closed');
    return undefined;
  }
  const file = join(resolve(options.dataDir), OPERATOR_KEY_FILE);
  const newKey = () => `ft_op_${randomBytes(32).toString('base64url')}`;
  const { text, created } = readOrCreatePrivateFile(file, () => `${newKey()}\n`);
  let key = text.trim();
  if (!created && key.length >= OPERATOR_KEY_MIN_LENGTH) {
    options.log(`api: operator key in ${file}`);
    return key;
  }
  if (key.length < OPERATOR_KEY_MIN_LENGTH) {
    // why: a file cut short by hand holds no usable key: replace it
    key = newKey();
    writeFileSync(file, `${key}\n`, { mode: 0o600 });
  }
  options.log(`api: generated an operator key into ${file} (readable by this user only)`);
  return key;
}

/** Compare a presented key with the operator key in constant time. */
export function isOperatorKey(presented: string, operatorKey: string | undefined): boolean {
  if (operatorKey === undefined) return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(operatorKey).digest();
  return timingSafeEqual(a, b);
}

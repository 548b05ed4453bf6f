import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/** PostgreSQL's own default (`scram_iterations`). */
const ITERATIONS = 4096;

/**
 * SASLprep (RFC 4013) as node-postgres applies it before hashing, so a verifier made here
 * accepts exactly the logins the client will attempt: non-ASCII spaces to U+0020, the
 * "mapped to nothing" characters removed, NFKC.
 */
function saslprep(password: string): string {
  return password
    .replace(/[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g, ' ')
    .replace(/[\u00AD\u034F\u1806\u180B\u180C\u180D\u200C\u200D\u2060\uFE00-\uFE0F\uFEFF]/g, '')
    .normalize('NFKC');
}

function keys(password: string, salt: Buffer, iterations: number): { storedKey: Buffer; serverKey: Buffer } {
  const salted = pbkdf2Sync(saslprep(password), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  return {
    storedKey: createHash('sha256').update(clientKey).digest(),
    serverKey: createHmac('sha256', salted).update('Server Key').digest(),
  };
}

/**
 * A SCRAM-SHA-256 verifier for `password` (RFC 5802 / RFC 7677, in PostgreSQL's format
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`). `ALTER ROLE … PASSWORD` with
 * a verifier stores it as is, so the password itself never travels in SQL and cannot end up
 * in the server's log.
 */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = ITERATIONS): string {
  const { storedKey, serverKey } = keys(password, salt, iterations);
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

const VERIFIER = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/;

/** True when `verifier` (a stored `rolpassword`) accepts `password`. Never throws. */
export function verifierMatches(verifier: string | null | undefined, password: string): boolean {
  const m = VERIFIER.exec(verifier ?? '');
  if (!m) return false;
  const { storedKey, serverKey } = keys(password, Buffer.from(m[2]!, 'base64'), Number(m[1]));
  const stored = Buffer.from(m[3]!, 'base64');
  const server = Buffer.from(m[4]!, 'base64');
  return stored.length === 32 && server.length === 32 && timingSafeEqual(stored, storedKey) && timingSafeEqual(server, serverKey);
}

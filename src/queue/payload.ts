import { FivetierError } from '../errors/codes.js';

/**
 * Largest job payload, in bytes of compact JSON (UTF-8). Payloads carry ids and small config
 * only (the tier docs); bodies and lists belong in the content or OLTP tier, referenced by id.
 * 64 KiB leaves room for any such payload, and keeps one tenant's payloads from filling the
 * relay's batches, the queue tier's rows and Redis.
 */
export const JOB_PAYLOAD_MAX_BYTES = 64 * 1024;

/**
 * Check a job payload before it is written (`enqueue`, `DatabaseTransaction.insertQueue`).
 * Throws FT_ERR_INPUT_INVALID, naming `where`, when it is not JSON (a cycle, a BigInt, a
 * function) or its JSON is larger than JOB_PAYLOAD_MAX_BYTES.
 */
export function assertJobPayload(payload: unknown, where: string): void {
  let json: string | undefined;
  try {
    json = JSON.stringify(payload);
  } catch (err) {
    throw new FivetierError('FT_ERR_INPUT_INVALID', [`${where}: the payload is not JSON (${(err as Error).message})`]);
  }
  if (json === undefined) throw new FivetierError('FT_ERR_INPUT_INVALID', [`${where}: the payload is not JSON`]);
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > JOB_PAYLOAD_MAX_BYTES) {
    throw new FivetierError('FT_ERR_INPUT_INVALID', [
      `${where}: the payload is ${bytes} bytes of JSON, over the ${JOB_PAYLOAD_MAX_BYTES}-byte cap; pass ids and small config, and keep bodies in the content tier`,
    ]);
  }
}

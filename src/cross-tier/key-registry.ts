/**
 * What this process knows about content keys it wrote recently: the tenant (so cleanup runs as
 * that tenant, not across tenants) and how far the write got, so cleanup deletes at once only
 * content that this process saw orphaned (content committed, OLTP commit failed), and leaves a
 * write in flight or in doubt alone. Bounded: the oldest entries go first.
 */
const MAX_ENTRIES = 10_000;

/**
 * - `pending`: written in an open content transaction; the send has not finished.
 * - `committed`: content and OLTP both committed: an email references it.
 * - `orphaned`: content committed and the OLTP commit failed: nothing references it.
 * - `in-doubt`: the OLTP commit's outcome is unknown: the orphan sweeper decides later.
 */
export type KeyState = 'pending' | 'committed' | 'orphaned' | 'in-doubt';

export interface KeyInfo {
  tenantId: string;
  state: KeyState;
}

const keys = new Map<string, KeyInfo>();

/** Record what is known of a key (written, committed, orphaned, in doubt). Never throws. */
export function recordKey(storageKey: string, tenantId: string, state: KeyState): void {
  keys.delete(storageKey);
  keys.set(storageKey, { tenantId, state });
  if (keys.size > MAX_ENTRIES) keys.delete(keys.keys().next().value!);
}

/** What is known about a key, if anything. Never throws. */
export function lookupKey(storageKey: string): KeyInfo | undefined {
  return keys.get(storageKey);
}

/**
 * What this process knows about content keys it wrote recently: the tenant (so cleanup runs as
 * that tenant, not across tenants) and whether the OLTP commit was in doubt (so cleanup leaves
 * the key to the orphan sweeper). Bounded: the oldest entries go first.
 */
const MAX_ENTRIES = 10_000;

interface KeyInfo {
  tenantId: string;
  inDoubt: boolean;
}

const keys = new Map<string, KeyInfo>();

/** Remember the tenant of a key just written to the content tier. Never throws. */
export function rememberKey(storageKey: string, tenantId: string): void {
  keys.delete(storageKey);
  keys.set(storageKey, { tenantId, inDoubt: false });
  if (keys.size > MAX_ENTRIES) keys.delete(keys.keys().next().value!);
}

/** Mark a key whose OLTP commit outcome is unknown. Never throws. */
export function markKeyInDoubt(storageKey: string, tenantId: string): void {
  keys.delete(storageKey);
  keys.set(storageKey, { tenantId, inDoubt: true });
  if (keys.size > MAX_ENTRIES) keys.delete(keys.keys().next().value!);
}

/** What is known about a key, if anything. Never throws. */
export function lookupKey(storageKey: string): KeyInfo | undefined {
  return keys.get(storageKey);
}

/**
 * The secrets of a test run (the runtime roles' password), shared by the global setup that makes
 * them and the secrets reporter that looks for them in everything the run printed. Both run in
 * vitest's main process but may load this module separately, so the list lives on globalThis.
 */
const KEY = Symbol.for('fivetier.test.suiteSecrets');
type Holder = { [KEY]?: string[] };

export function addSuiteSecret(secret: string): void {
  const holder = globalThis as Holder;
  (holder[KEY] ??= []).push(secret);
}

export function suiteSecrets(): readonly string[] {
  return (globalThis as Holder)[KEY] ?? [];
}

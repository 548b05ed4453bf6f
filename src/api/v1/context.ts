import type { ApiKeyVerifier } from '../../api-keys/api-keys.js';
import type { Fivetier } from '../../platform.js';

/** What every /v1 route module gets. */
export interface ApiContext {
  fivetier: Fivetier;
  verifier: ApiKeyVerifier;
}

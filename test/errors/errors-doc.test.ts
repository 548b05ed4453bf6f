import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorCodes } from '../../src/errors/codes.js';

describe('docs/errors.md', () => {
  const doc = readFileSync('docs/errors.md', 'utf8');
  const documented = new Map([...doc.matchAll(/^\| `(FT_ERR_[A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]));

  it('documents every code of the registry with its status', () => {
    for (const [code, { status }] of Object.entries(errorCodes)) expect(documented.get(code), code).toBe(status);
  });

  it('documents no code the registry does not have', () => {
    for (const code of documented.keys()) expect(Object.keys(errorCodes), code).toContain(code);
  });
});

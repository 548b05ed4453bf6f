/** JSON schemas shared by the /v1 routes (validation and the OpenAPI document). */
export const uuid = { type: 'string', format: 'uuid' } as const;

/** An object id in the URL: any short string, so an id that is not a uuid answers 404 like a missing one. */
export const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 200 } } } as const;

export const pageQuery = {
  type: 'object',
  properties: {
    after: { ...uuid, description: 'the last id of the previous page' },
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
  },
} as const;

export const errorBody = {
  type: 'object',
  required: ['code', 'message'],
  properties: {
    code: { type: 'string', description: 'a code of docs/errors.md' },
    message: { type: 'string' },
    field: { type: 'string', description: 'the bad field, for 400' },
    tier: { type: 'string', description: 'the tier that is down, for 503' },
  },
} as const;

/** The security requirement of routes that take a tenant key (OpenAPI). */
export const tenantKey = [{ tenantKey: [] }];
export const operatorKey = [{ operatorKey: [] }];

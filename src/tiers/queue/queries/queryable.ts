export type { Queryable } from '../../queryable.js';

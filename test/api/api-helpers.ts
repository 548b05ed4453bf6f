import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { buildServer, type ServerOptions } from '../../src/api/server.js';
import type { Fivetier } from '../../src/platform.js';
import { openTestFivetier } from '../helpers/platform.js';

/** A test's API: a platform on the run's databases, the server in-process, an operator key. */
export interface TestApi {
  ft: Fivetier;
  app: FastifyInstance;
  operatorKey: string;
  close(): Promise<void>;
  /** One request with a bearer key (undefined: none); JSON body unless `payload` is given. */
  call(key: string | undefined, method: InjectOptions['method'], url: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; json: any; headers: Record<string, unknown>; body: string }>;
  /** A new tenant and a key of it, made through the operator routes. */
  tenant(name?: string): Promise<{ id: string; key: string }>;
}

export async function openTestApi(options: Omit<ServerOptions, 'fivetier'> = {}, ft?: Fivetier): Promise<TestApi> {
  const platform = ft ?? (await openTestFivetier());
  const operatorKey = `test-operator-${randomBytes(24).toString('hex')}`;
  const app = await buildServer({ fivetier: platform, operatorKey, rateLimit: { max: 1_000_000 }, ...options });
  const call: TestApi['call'] = async (key, method, url, body, headers = {}) => {
    const res = await app.inject({
      method,
      url,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
      ...(body === undefined ? {} : typeof body === 'string' ? { payload: body } : { payload: body as object }),
    });
    let json: unknown;
    try {
      json = res.body ? JSON.parse(res.body) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, json, headers: res.headers, body: res.body };
  };
  return {
    ft: platform,
    app,
    operatorKey,
    call,
    async close() {
      await app.close();
      if (!ft) await platform.close();
    },
    async tenant(name = `tenant ${randomUUID().slice(0, 8)}`) {
      const t = await call(operatorKey, 'POST', '/v1/tenants', { name });
      if (t.status !== 201) throw new Error(`tenant: ${t.status} ${t.body}`);
      const k = await call(operatorKey, 'POST', `/v1/tenants/${t.json.id}/api-keys`, { name: 'test' });
      if (k.status !== 201) throw new Error(`api key: ${k.status} ${k.body}`);
      return { id: t.json.id as string, key: k.json.key as string };
    },
  };
}

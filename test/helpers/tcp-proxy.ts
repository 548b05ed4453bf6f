import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a PostgreSQL server, for fault injection: `cut()` drops every open
 * connection at once (both sides reset), `down()` also refuses new ones until `up()`.
 * Point a tier's URL at `urlFor(url)` to put the proxy in front of that tier.
 */
export class TcpProxy {
  readonly #server: Server;
  readonly #pairs = new Set<[Socket, Socket]>();
  #down = false;
  #port = 0;
  /** Connections dropped by cut() so far. */
  cuts = 0;

  private constructor(targetHost: string, targetPort: number) {
    this.#server = createServer((client) => {
      if (this.#down) {
        client.destroy();
        return;
      }
      const upstream = connect(targetPort, targetHost);
      const pair: [Socket, Socket] = [client, upstream];
      this.#pairs.add(pair);
      const close = () => {
        this.#pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  /** Start a proxy on a free 127.0.0.1 port in front of `targetHost:targetPort`. */
  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetHost, targetPort);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(0, '127.0.0.1', () => resolve());
    });
    proxy.#port = (proxy.#server.address() as { port: number }).port;
    return proxy;
  }

  /** A proxy in front of the host and port of `url`. */
  static forUrl(url: string): Promise<TcpProxy> {
    const u = new URL(url);
    return TcpProxy.start(u.hostname, Number(u.port || 5432));
  }

  get port(): number {
    return this.#port;
  }

  /** `url` with its host and port replaced by the proxy's. */
  urlFor(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.#port);
    return u.toString();
  }

  /** Reset every open connection (new ones are still accepted). */
  cut(): void {
    for (const [a, b] of this.#pairs) {
      a.resetAndDestroy();
      b.resetAndDestroy();
      this.cuts++;
    }
    this.#pairs.clear();
  }

  /** Cut, and refuse new connections until up(). */
  down(): void {
    this.#down = true;
    this.cut();
  }

  up(): void {
    this.#down = false;
  }

  /** Open connections through the proxy. */
  get open(): number {
    return this.#pairs.size;
  }

  async close(): Promise<void> {
    this.down();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

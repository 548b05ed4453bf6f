import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a PostgreSQL server, for fault injection: `cut()` drops every open
 * connection at once (both sides reset), `down()` also refuses new ones until `up()`, and
 * `freeze()` keeps every connection open and accepts new ones but forwards nothing (a hung
 * server or a network partition) until `thaw()` (new ones reach the server only then, so a
 * frozen proxy holds none of the server's connection slots).
 * Point a tier's URL at `urlFor(url)` to put the proxy in front of that tier.
 */
export class TcpProxy {
  readonly #server: Server;
  readonly #pairs = new Set<[Socket, Socket]>();
  #down = false;
  #frozen = false;
  #port = 0;
  /** Connections dropped by cut() so far. */
  cuts = 0;

  /** Connections accepted while frozen: no upstream yet (see freeze()). */
  readonly #held = new Set<Socket>();
  readonly #targetHost: string;
  readonly #targetPort: number;

  private constructor(targetHost: string, targetPort: number) {
    this.#targetHost = targetHost;
    this.#targetPort = targetPort;
    this.#server = createServer((client) => {
      if (this.#down) {
        client.destroy();
        return;
      }
      // why: a connection opened upstream and never forwarded holds one of the server's
      // connection slots until its authentication timeout; frozen, it waits here instead
      if (this.#frozen) {
        this.#held.add(client);
        const drop = () => {
          this.#held.delete(client);
          client.destroy();
        };
        client.on('error', drop).on('close', drop);
        return;
      }
      this.#attach(client);
    });
  }

  /** Connect `client` upstream and forward both ways. */
  #attach(client: Socket): void {
    const upstream = connect(this.#targetPort, this.#targetHost);
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
    for (const c of this.#held) c.resetAndDestroy();
    this.#held.clear();
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

  /** Forward nothing, in either direction, on open or new connections, until thaw(). */
  freeze(): void {
    this.#frozen = true;
    for (const [a, b] of this.#pairs) {
      a.unpipe(b);
      b.unpipe(a);
      a.pause();
      b.pause();
    }
  }

  /** Forward again: what was sent meanwhile flows on. */
  thaw(): void {
    this.#frozen = false;
    for (const [a, b] of this.#pairs) {
      a.pipe(b);
      b.pipe(a);
    }
    for (const client of this.#held) {
      client.removeAllListeners('error').removeAllListeners('close');
      this.#attach(client);
    }
    this.#held.clear();
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

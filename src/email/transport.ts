import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import nodemailer from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer';
import SMTPConnection from 'nodemailer/lib/smtp-connection';

/** One message to deliver. */
export interface OutgoingMessage {
  /** Stable per email (the email id): names the .eml file and builds the Message-ID. */
  id: string;
  from: string;
  to: string;
  subject: string;
  html: string;
  /** A plain-text alternative (a single send's body as it was given). */
  text?: string;
  headers?: Record<string, string>;
}

/** What the transport reports for a delivered message. */
export interface Delivery {
  messageId: string;
  /** Recipients the server accepted. */
  accepted: string[];
}

/**
 * Where `deliverAfterCommit` stands when it fails: `before-commit` (nothing delivered, `commit()`
 * not called or it threw), or `after-commit` (`commit()` succeeded and then the terminating dot
 * or the server's answer to it failed; `responseCode` says whether the server refused).
 */
export type DeliveryStage = 'before-commit' | 'after-commit';

/** Where messages go: an SMTP server (pooled connections), or .eml files in a folder. */
export interface MailTransport {
  /** `smtp://host:port` (no credentials) or the folder of .eml files. */
  readonly describe: string;
  send(message: OutgoingMessage): Promise<Delivery>;
  /**
   * Delivers `message` with its last byte held back: MAIL FROM, RCPT TO, DATA and the whole
   * message but the terminating `<CRLF>.<CRLF>`, then `await commit()`, and only then the dot.
   * An SMTP server delivers a message only once it received that dot, so a crash before it
   * delivers nothing. If `commit()` throws, the connection is dropped (the server discards the
   * partial message) and the error is rethrown. An error carries `deliveryStage`.
   */
  deliverAfterCommit(message: OutgoingMessage, commit: () => Promise<void>): Promise<Delivery>;
  close(): void;
}

/** SMTP connections a pooled transport keeps open. */
export const SMTP_POOL_CONNECTIONS_DEFAULT = 5;

function composerOptions(m: OutgoingMessage) {
  return { from: m.from, to: m.to, subject: m.subject, html: m.html, ...(m.text === undefined ? {} : { text: m.text }), messageId: `<${m.id}@fivetier>`, headers: m.headers };
}

function mark<T>(err: T, stage: DeliveryStage): T {
  if (err && typeof err === 'object') (err as { deliveryStage?: DeliveryStage }).deliveryStage = stage;
  return err;
}

/** The deliveryStage of an error from `deliverAfterCommit` (`before-commit` when unmarked). */
export function deliveryStageOf(err: unknown): DeliveryStage {
  return (err as { deliveryStage?: DeliveryStage } | null)?.deliveryStage ?? 'before-commit';
}

/** The whole RFC 5322 message, CRLF line ends, as nodemailer composes it. */
function compose(m: OutgoingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    new MailComposer(composerOptions(m)).compile().build((err, message) => (err ? reject(err) : resolve(message)));
  });
}

/**
 * SMTP connections (nodemailer's SMTPConnection) reused across messages, at most `size` open, the
 * way nodemailer's SMTPPool reuses them: a connection that finished a message takes the next one
 * with a new MAIL FROM; one that failed in any way is dropped, never reused.
 */
class SmtpConnectionPool {
  readonly #idle: SMTPConnection[] = [];
  readonly #waiting: Array<(c: SMTPConnection | Error) => void> = [];
  #open = 0;
  #closed = false;

  constructor(
    private readonly url: URL,
    private readonly size: number,
  ) {}

  async acquire(): Promise<SMTPConnection> {
    if (this.#closed) throw new Error('the mail transport is closed');
    const idle = this.#idle.pop();
    if (idle) return idle;
    if (this.#open < this.size) {
      this.#open++;
      try {
        return await this.#connect();
      } catch (err) {
        this.#open--;
        this.#wakeOne();
        throw err;
      }
    }
    const got = await new Promise<SMTPConnection | Error>((resolve) => this.#waiting.push(resolve));
    if (got instanceof Error) throw got;
    return got;
  }

  /** Back into the pool after a message the server answered 250. */
  release(c: SMTPConnection): void {
    const waiter = this.#waiting.shift();
    if (waiter) return waiter(c);
    this.#idle.push(c);
  }

  /** A connection in an unknown state: closed, its place freed for a new one. */
  discard(c: SMTPConnection): void {
    c.removeAllListeners('end');
    c.close();
    this.#open--;
    this.#wakeOne();
  }

  close(): void {
    this.#closed = true;
    for (const c of this.#idle.splice(0)) c.quit();
    for (const w of this.#waiting.splice(0)) w(new Error('the mail transport is closed'));
  }

  #wakeOne(): void {
    // why: a waiter gets a fresh connection when an open one was dropped
    const waiter = this.#waiting.shift();
    if (!waiter) return;
    this.#open++;
    this.#connect().then(waiter, (err: Error) => {
      this.#open--;
      waiter(err);
    });
  }

  #connect(): Promise<SMTPConnection> {
    const secure = this.url.protocol === 'smtps:';
    const c = new SMTPConnection({ host: this.url.hostname, port: Number(this.url.port) || (secure ? 465 : 25), secure, logger: false });
    return new Promise((resolve, reject) => {
      const failed = (err: Error) => {
        c.close();
        reject(err);
      };
      c.once('error', failed);
      c.connect(() => {
        const ready = () => {
          c.removeListener('error', failed);
          // why: an idle connection the server closes leaves the pool instead of failing the next message
          c.on('error', () => {});
          c.once('end', () => {
            const i = this.#idle.indexOf(c);
            if (i >= 0) {
              this.#idle.splice(i, 1);
              this.#open--;
            }
          });
          resolve(c);
        };
        if (!this.url.username) return ready();
        c.login({ user: decodeURIComponent(this.url.username), pass: decodeURIComponent(this.url.password) }, (err) => (err ? failed(err) : ready()));
      });
    });
  }
}

/**
 * Sends `raw` over `c` and holds the terminating dot until `commit()` resolved. The message is a
 * stream that nodemailer reads once the server answered DATA with 354; it is ended (which makes
 * nodemailer write `<CRLF>.<CRLF>`) only after the commit.
 */
function sendHoldingDot(c: SMTPConnection, envelope: { from: string; to: string[] }, raw: Buffer, commit: () => Promise<void>): { result: Promise<SMTPConnection.SentMessageInfo>; committed: Promise<void> } {
  let dataAccepted!: () => void;
  const accepted = new Promise<void>((resolve) => (dataAccepted = resolve));
  let pushed = false;
  const body = new Readable({
    read() {
      if (pushed) return;
      pushed = true;
      this.push(raw);
      dataAccepted();
    },
  });
  const result = new Promise<SMTPConnection.SentMessageInfo>((resolve, reject) => c.send(envelope, body, (err, info) => (err ? reject(err) : resolve(info))));
  const committed = Promise.race([accepted, result.then(() => {})]).then(async () => {
    if (!pushed) throw new Error('the SMTP server answered before the message was written');
    await commit();
    body.push(null);
  });
  return { result, committed };
}

/**
 * The mail transport of the platform: SMTP at `smtpUrl` over a small pool of reused connections
 * (nodemailer's SMTPConnection), or, without one, each message written as `<id>.eml` into
 * `mailDir` (private to the user: the files hold recipients' addresses and bodies). The
 * Message-ID is derived from the message id, so a message sent again is recognisably the same.
 */
export function createMailTransport(options: { smtpUrl?: string; mailDir: string; connections?: number }): MailTransport {
  if (options.smtpUrl) {
    const url = new URL(options.smtpUrl);
    const pool = new SmtpConnectionPool(url, options.connections ?? SMTP_POOL_CONNECTIONS_DEFAULT);
    const deliverAfterCommit = async (m: OutgoingMessage, commit: () => Promise<void>): Promise<Delivery> => {
      let raw: Buffer;
      let c: SMTPConnection;
      try {
        raw = await compose(m);
        c = await pool.acquire();
      } catch (err) {
        throw mark(err, 'before-commit');
      }
      const { result, committed } = sendHoldingDot(c, { from: m.from, to: [m.to] }, raw, commit);
      result.catch(() => {}); // why: its failure is reported through `committed` or awaited below
      try {
        await committed;
      } catch (err) {
        // why: dropping the connection mid-DATA makes the server discard the partial message
        pool.discard(c);
        throw mark(err, 'before-commit');
      }
      try {
        const info = await result;
        pool.release(c);
        return { messageId: `<${m.id}@fivetier>`, accepted: info.accepted.map(String) };
      } catch (err) {
        pool.discard(c);
        throw mark(err, 'after-commit');
      }
    };
    return {
      describe: `${url.protocol}//${url.hostname}:${url.port || (url.protocol === 'smtps:' ? 465 : 25)}`,
      send: (m) => deliverAfterCommit(m, async () => {}),
      deliverAfterCommit,
      close: () => pool.close(),
    };
  }
  const writer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  let made = false;
  const deliverAfterCommit = async (m: OutgoingMessage, commit: () => Promise<void>): Promise<Delivery> => {
    // why: the id names the file; anything but a uuid of ours could escape the folder
    if (!/^[0-9a-f-]{36}$/i.test(m.id)) throw mark(new Error(`message id must be a uuid, got ${JSON.stringify(m.id)}`), 'before-commit');
    if (!made) {
      mkdirSync(options.mailDir, { recursive: true, mode: 0o700 });
      made = true;
    }
    const info = await writer.sendMail(composerOptions(m));
    // why: under a temporary name until the commit, so a crash before it leaves no `.eml` a reader takes for sent
    const partial = join(options.mailDir, `.${m.id}.eml.partial`);
    writeFileSync(partial, info.message as Buffer, { mode: 0o600 });
    try {
      await commit();
    } catch (err) {
      rmSync(partial, { force: true });
      throw mark(err, 'before-commit');
    }
    renameSync(partial, join(options.mailDir, `${m.id}.eml`));
    return { messageId: info.messageId, accepted: [m.to] };
  };
  return {
    describe: options.mailDir,
    send: (m) => deliverAfterCommit(m, async () => {}),
    deliverAfterCommit,
    close: () => writer.close(),
  };
}

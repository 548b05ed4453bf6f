import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/**
 * A real SMTP server (the `smtp-server` package) on a free 127.0.0.1 port that keeps every
 * message it accepts, parsed. Tests count and read what arrived. Like a real MTA it keeps a
 * message only once its DATA ended with `<CRLF>.<CRLF>`: a client that drops the connection
 * mid-DATA (smtp-server then destroys the data stream) leaves nothing but a count in `discarded`.
 */
export class SmtpSink {
  readonly messages: ParsedMail[] = [];
  /** Messages whose DATA began and never ended (the client went away before the dot). */
  discarded = 0;
  readonly #server: SMTPServer;
  #port = 0;

  /** `refuse`: recipients whose messages the server answers, after the dot, with 550. */
  private constructor(refuse: (recipient: string) => boolean) {
    this.#server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        let ended = false;
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('error', () => {}); // why: the partial message is discarded on 'close' below
        stream.once('end', () => {
          ended = true;
          if (session.envelope.rcptTo.some((r) => refuse(r.address))) {
            return callback(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
          }
          simpleParser(Buffer.concat(chunks))
            .then((mail) => {
              this.messages.push(mail);
              callback();
            })
            .catch(callback);
        });
        stream.once('close', () => {
          if (!ended) this.discarded++;
        });
      },
    });
  }

  static async start(options: { refuse?: (recipient: string) => boolean } = {}): Promise<SmtpSink> {
    const sink = new SmtpSink(options.refuse ?? (() => false));
    await new Promise<void>((resolve, reject) => {
      sink.#server.once('error', reject);
      sink.#server.listen(0, '127.0.0.1', () => resolve());
    });
    // why: a client killed mid-session resets its connection; smtp-server reports that as an
    // 'error' of the server, which unheard would end the test process
    sink.#server.on('error', () => {});
    sink.#port = (sink.#server.server.address() as { port: number }).port;
    return sink;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.#port}`;
  }

  /** Messages to one address. */
  to(address: string): ParsedMail[] {
    return this.messages.filter((m) => (Array.isArray(m.to) ? m.to : [m.to]).some((t) => t?.value.some((v) => v.address === address)));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

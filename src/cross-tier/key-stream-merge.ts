const TAB = 0x09;
const BACKSLASH = 0x5c;
/** A uuid in COPY text: 36 characters. */
const UUID_LENGTH = 36;

/** Rows read in place (CopyOutRows): the current row is buf[start, end). */
export interface RowSource {
  readonly buf: Buffer;
  readonly start: number;
  readonly end: number;
  readonly count: number;
  /** Next row already read; false when none is. */
  step(): boolean;
  /** Read more; false at the end. Invalidates the current row's range. */
  fill(): Promise<boolean>;
}

/** What the merge tells its caller. Suspects are (tenant, key) pairs, decoded; they are few. */
export interface KeyMergeSink {
  /** Emails reference a key with no content row of their tenant (I1 suspect). Called once per pair. */
  missingContent(tenantId: string, storageKey: string): void;
  /** A content row that no email references (I3 suspect, whatever its age). */
  unreferencedContent(tenantId: string, storageKey: string): void;
  /** Called every `every` rows read (both streams together) and at the end; awaited, so the caller may do I/O (it holds both streams back). */
  progress(emails: number, content: number): Promise<void> | void;
}

/**
 * One pass over two key-ordered streams, like a merge join. Both carry rows
 * `storage_key TAB tenant_id` (emails: `\N` for no key), ordered by (key, tenant) in byte
 * order (`COLLATE "C"`), emails without a key last; content has one row per pair.
 *
 * A row is compared as one byte range: COPY text escapes every byte below 0x20, so the TAB
 * sorts before any key byte and comparing `key TAB tenant` as bytes is comparing (key,
 * tenant). A pair is matched only when both rows are equal, and each row is passed either by a
 * match or by reporting it, so no inconsistency can be missed; the order only decides how few
 * suspects there are (a stream out of order yields extra suspects, which the caller's recheck
 * clears). Returns the rows read.
 */
export async function mergeKeyStreams(e: RowSource, k: RowSource, sink: KeyMergeSink, every: number): Promise<{ emails: number; content: number }> {
  // Each side: NEXT (its row is used up), LIVE (a row with a key to merge) or DONE.
  let eState = NEXT;
  let kState = NEXT;
  let kMatched = false; // some email referenced the current content row
  let reported: Buffer | undefined; // the (key, tenant) row of emails just reported, to skip its twins
  let nextProgress = every;

  // why: the loop only awaits when a side has used up its chunk; a row costs no promise
  for (;;) {
    if (eState === NEXT) {
      if (e.step()) {
        if (e.buf[e.start] === BACKSLASH && e.buf[e.start + 1] === 0x4e && e.buf[e.start + 2] === TAB) {
          eState = DONE; // `\N`: the keyless emails, last in the order; they are only counted
        } else if (reported !== undefined && e.buf.compare(reported, 0, reported.length, e.start, e.end) === 0) {
          continue; // another email of a pair already reported
        } else {
          reported = undefined;
          eState = LIVE;
        }
      } else if (!(await e.fill())) {
        eState = DONE;
      }
      continue;
    }
    if (kState === NEXT) {
      kMatched = false;
      if (k.step()) kState = LIVE;
      else if (!(await k.fill())) kState = DONE;
      continue;
    }
    if (e.count + k.count >= nextProgress) {
      nextProgress += every;
      await sink.progress(e.count, k.count);
    }
    if (eState === LIVE && kState === LIVE) {
      // why: Buffer#compare on ranges compares bytes in native code, with no string made per row
      const c = e.buf.compare(k.buf, k.start, k.end, e.start, e.end);
      if (c === 0) {
        kMatched = true;
        eState = NEXT; // more emails may share the key; the content row stays
      } else if (c < 0) {
        reported = reportEmail();
        eState = NEXT;
      } else {
        reportContent();
        kState = NEXT;
      }
    } else if (eState === LIVE) {
      reported = reportEmail();
      eState = NEXT;
    } else if (kState === LIVE) {
      reportContent();
      kState = NEXT;
    } else {
      break;
    }
  }
  // The keyless emails after the last key are counted by reading them out.
  for (;;) {
    while (e.step()) {}
    if (!(await e.fill())) break;
  }
  await sink.progress(e.count, k.count);
  return { emails: e.count, content: k.count };

  /** Report the current email's pair; returns a copy of its row, to skip the emails that share it. */
  function reportEmail(): Buffer {
    const [tenant, key] = fields(e);
    sink.missingContent(tenant, key);
    return Buffer.from(e.buf.subarray(e.start, e.end)); // copied: the chunk may change
  }

  function reportContent(): void {
    if (kMatched) return;
    const [tenant, key] = fields(k);
    sink.unreferencedContent(tenant, key);
  }
}

const NEXT = 0;
const LIVE = 1;
const DONE = 2;

/** Tenant and key of the current row (`storage_key TAB tenant_id`). */
function fields(lines: RowSource): [tenantId: string, storageKey: string] {
  const tab = lines.buf.lastIndexOf(TAB, lines.end);
  if (tab < lines.start || lines.end - tab - 1 !== UUID_LENGTH) {
    throw new Error(`consistency check: unexpected row in a key stream: ${JSON.stringify(lines.buf.toString('utf8', lines.start, Math.min(lines.end, lines.start + 600)))}`);
  }
  return [lines.buf.toString('latin1', tab + 1, lines.end), copyText(lines.buf, lines.start, tab)];
}

/** A COPY text field as a string: UTF-8, with COPY's backslash escapes undone (storage keys have none in practice). */
function copyText(buf: Buffer, start: number, end: number): string {
  const raw = buf.toString('utf8', start, end);
  if (!raw.includes('\\')) return raw;
  return raw.replace(/\\(.)/g, (_, ch: string) => ({ b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' })[ch] ?? ch);
}

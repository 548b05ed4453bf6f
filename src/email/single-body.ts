/**
 * The message of a single send (an email without a campaign: `sendEmailOnce`, `POST /v1/emails`):
 * nothing to render, its body was stored in the content tier when the send was asked for, under
 * the email's storage key. The body is what the caller gave: plain text (the seed's
 * `content_text`), sent as the text part with an escaped HTML part beside it (the HTML part
 * carries the open pixel and tracked links, as a campaign's body does); or HTML when stored so.
 */
import { contentObjectGetByKey } from '../tiers/content/queries/content-bodies.js';
import type { Fivetier } from '../platform.js';

/** A single send's message parts. */
export interface SingleBody {
  subject: string;
  html: string;
  text?: string;
}

/** This read runs only its own statements: no session reset after it. */
const OWN = Object.freeze({ ownStatementsOnly: true });

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]!);

/** The message parts of a stored body. */
export function singleBodyOf(subject: string | null, stored: { content_text: string | null; content_html: string | null }): SingleBody | null {
  if (stored.content_html !== null) return { subject: subject ?? '', html: stored.content_html, ...(stored.content_text === null ? {} : { text: stored.content_text }) };
  if (stored.content_text === null) return null;
  return { subject: subject ?? '', html: `<div style="white-space: pre-wrap">${escapeHtml(stored.content_text)}</div>`, text: stored.content_text };
}

/**
 * The stored bodies of single sends, by email id, in one content-tier transaction; null for an
 * email whose body is gone (expired or erased) or was never stored. Throws
 * FT_ERR_TIER_UNAVAILABLE when the content tier is down.
 */
export async function loadSingleBodies(
  ft: Fivetier,
  tenantId: string,
  emails: ReadonlyArray<{ id: string; subject: string | null; content_storage_key: string | null }>,
): Promise<Map<string, SingleBody | null>> {
  return ft.content.withTenant(
    tenantId,
    async (c) => {
      const bodies = new Map<string, SingleBody | null>();
      for (const e of emails) {
        const stored = e.content_storage_key === null ? null : await contentObjectGetByKey(c, e.content_storage_key);
        bodies.set(e.id, stored && singleBodyOf(e.subject, stored));
      }
      return bodies;
    },
    OWN,
  );
}

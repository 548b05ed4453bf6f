import { Liquid, type Template } from 'liquidjs';
import { FivetierError } from '../errors/codes.js';

/**
 * Email templates are Liquid (liquidjs): tenants write them, so the language must not run code
 * (Liquid has no expressions with side effects, reads only own properties of the variables
 * given, and is bounded in parse size, render time and memory). Every `{{ value }}` in the body
 * is HTML-escaped; `{{ value | raw }}` is the one explicit way out. The subject is plain text: it
 * is not escaped, and line breaks are folded away so a variable cannot add a mail header.
 */
const LIMITS = { parseLimit: 200_000, renderLimit: 1_000, memoryLimit: 10_000_000 } as const;
const bodyEngine = new Liquid({ outputEscape: 'escape', ownPropertyOnly: true, strictFilters: true, ...LIMITS });
const subjectEngine = new Liquid({ ownPropertyOnly: true, strictFilters: true, ...LIMITS });

/** A template as stored (`templates.subject`, `templates.content`). */
export interface EmailTemplate {
  subject: string | null;
  content: string | null;
}

/** A template parsed once, rendered for many recipients. */
export interface CompiledTemplate {
  readonly subject: Template[];
  readonly body: Template[];
}

export interface RenderedEmail {
  subject: string;
  html: string;
}

/** Parse a template. Throws FT_ERR_INPUT_INVALID naming the part and the syntax error. */
export function compileTemplate(template: EmailTemplate): CompiledTemplate {
  return {
    subject: parse(subjectEngine, template.subject ?? '', 'subject'),
    body: parse(bodyEngine, template.content ?? '', 'content'),
  };
}

/**
 * Render a compiled template with the recipient's variables (a lead's `name`, `email`,
 * `company`, ...). Throws FT_ERR_INPUT_INVALID when rendering fails (a limit exceeded).
 *
 * @example
 * const t = compileTemplate({ subject: 'Hi {{ name }}', content: '<p>Hello {{ name }}</p>' });
 * await renderEmail(t, { name: '<Ada>' }); // { subject: 'Hi <Ada>', html: '<p>Hello &lt;Ada&gt;</p>' }
 */
export async function renderEmail(template: CompiledTemplate, variables: Record<string, unknown>): Promise<RenderedEmail> {
  try {
    // why: synchronous, so the render time limit counts this render's own time, not other
    // renders interleaved with it on a busy event loop (and no promise per tag)
    const subject = subjectEngine.renderSync(template.subject, variables);
    const html = bodyEngine.renderSync(template.body, variables);
    return { subject: foldLines(String(subject)), html: String(html) };
  } catch (err) {
    throw new FivetierError('FT_ERR_INPUT_INVALID', [`template could not be rendered: ${(err as Error).message}`], { cause: err });
  }
}

function parse(engine: Liquid, source: string, part: string): Template[] {
  try {
    return engine.parse(source);
  } catch (err) {
    throw new FivetierError('FT_ERR_INPUT_INVALID', [`template ${part}: ${(err as Error).message}`], { cause: err });
  }
}

/** One line: a subject with a line break would start a new header. */
function foldLines(s: string): string {
  return s.replace(/[\r\n]+\s*/g, ' ').trim();
}

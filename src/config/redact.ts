import { inspect } from 'node:util';

/**
 * The credentials part of a URL: from `scheme://user:` up to the last `@` of the same word, so
 * a password with an unencoded `@` is covered too. Over-redacting is safe; under-redacting not.
 */
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^\s:@/]*):[^\s]*@/gi;

/** `text` with the password of every URL in it replaced by `***`. */
export function redactUrls(text: string): string {
  return text.replace(URL_PASSWORD, '$1:***@');
}

/** A URL for display: its password, if any, replaced by `***`. Undefined stays undefined. */
export function redactUrl<T extends string | undefined>(url: T): T {
  return (url === undefined ? url : redactUrls(url)) as T;
}

/**
 * Give a (not yet frozen) object a safe face: `util.inspect` (so `console.log`) and
 * `JSON.stringify` show `view()` instead of the object's own fields. Non-enumerable, so
 * spreading and equality checks are unaffected.
 */
export function withSafeView<T extends object>(target: T, view: () => unknown): T {
  Object.defineProperty(target, inspect.custom, {
    value: (_depth: number, options: object) => inspect(view(), options),
    enumerable: false,
  });
  Object.defineProperty(target, 'toJSON', { value: view, enumerable: false });
  return target;
}

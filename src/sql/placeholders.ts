/**
 * `:name` placeholders to positional `?`, the way mysql2's own conversion (the named-placeholders
 * package) reads them: a `:name` or `?` inside a '…' or "…" literal (doubled quotes and backslash
 * escapes honoured) is text, anything else is a placeholder. Done once per statement text, so a
 * statement sent on every invocation is not parsed again.
 */
export interface PositionalSql {
  /** The text with every placeholder as `?`. */
  readonly sql: string;
  /** The parameter each `?` takes, in order; a name may come several times. */
  readonly names: readonly string[];
}

const PARAM = /\?|:(\d+|[a-zA-Z][a-zA-Z0-9_]*)/g;
const BACKSLASH = 92;
const DOUBLE_QUOTE = 34;
const SINGLE_QUOTE = 39;

/**
 * The positional form, or undefined for a text this does not convert the way mysql2 would (a `?`
 * or numbered placeholder of its own, a `::name`): such a statement is left to mysql2.
 */
export function toPositional(text: string): PositionalSql | undefined {
  const parts: string[] = [];
  const names: string[] = [];
  let inQuote = false;
  let escaped = false;
  let quote = 0;
  let scanned = 0;
  let start = 0;
  for (const match of text.matchAll(PARAM)) {
    const at = match.index;
    for (let i = scanned; i < at; i++) {
      const chr = text.charCodeAt(i);
      if (chr === BACKSLASH) escaped = !escaped;
      else if (escaped) escaped = false;
      else if (inQuote && chr === quote) {
        if (text.charCodeAt(i + 1) === quote) i++;
        else inQuote = false;
      } else if (!inQuote && (chr === DOUBLE_QUOTE || chr === SINGLE_QUOTE)) {
        inQuote = true;
        quote = chr;
      }
    }
    scanned = at + match[0].length;
    if (inQuote) continue;
    const name = match[1];
    if (name === undefined || /^\d/.test(name) || text.charCodeAt(at - 1) === 58) return undefined;
    parts.push(text.slice(start, at));
    names.push(name);
    start = scanned;
  }
  parts.push(text.slice(start));
  return { sql: parts.join('?'), names };
}

/**
 * SQL text handling: one statement per call, `:name` parameters, and the literals the values
 * become. Values are written into the text as escaped literals, as MySQL Connector/J does with its
 * default client-side prepared statements; mysql2's own `?` formatting is not used because it
 * does not skip quotes and comments.
 */
import mysql from 'mysql2';
import { badRequest, DataApiError } from './errors.js';
import type { FieldInput, SqlParameterInput, TypeHint } from './requests.js';

export interface ParsedSql {
  /** Text between parameters: `pieces.length === names.length + 1`. */
  readonly pieces: readonly string[];
  readonly names: readonly string[];
  /** The first keyword, upper case (`SELECT`, `UPDATE`, …), or '' when there is none. */
  readonly keyword: string;
}

const NAME_START = /[A-Za-z_]/;
const NAME_PART = /[A-Za-z0-9_]/;

/**
 * Splits SQL at its `:name` parameters, skipping quotes, backticks and comments, and leaving
 * `:=` alone. A `;` followed by anything but blanks and comments is a second statement, which the
 * service rejects (multiple statements are never sent to MySQL).
 */
export function parseSql(sql: string): ParsedSql {
  const pieces: string[] = [];
  const names: string[] = [];
  let keyword = '';
  let start = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    const next = sql[i + 1];
    if (c === "'" || c === '"' || c === '`') {
      i = skipQuoted(sql, i, c);
    } else if (c === '#' || (c === '-' && next === '-' && isCommentDashSpace(sql[i + 2]))) {
      i = skipLine(sql, i);
    } else if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? sql.length : end + 2;
    } else if (c === ';') {
      if (!onlyBlanksAndComments(sql, i + 1))
        throw new DataApiError('ValidationException', "Multistatements aren't supported.");
      pieces.push(sql.slice(start, i));
      return { pieces, names, keyword };
    } else if (c === ':' && next !== undefined && NAME_START.test(next) && sql[i - 1] !== ':') {
      let end = i + 1;
      while (end < sql.length && NAME_PART.test(sql[end] as string)) end++;
      pieces.push(sql.slice(start, i));
      names.push(sql.slice(i + 1, end));
      start = end;
      i = end;
    } else {
      if (keyword === '' && NAME_START.test(c)) {
        let end = i + 1;
        while (end < sql.length && NAME_PART.test(sql[end] as string)) end++;
        keyword = sql.slice(i, end).toUpperCase();
        i = end;
        continue;
      }
      i++;
    }
  }
  pieces.push(sql.slice(start));
  return { pieces, names, keyword };
}

function skipQuoted(sql: string, open: number, quote: string): number {
  let i = open + 1;
  while (i < sql.length) {
    const c = sql[i];
    if (c === '\\' && quote !== '`') {
      i += 2;
    } else if (c === quote) {
      if (sql[i + 1] !== quote) return i + 1;
      i += 2; // a doubled quote stands for itself
    } else {
      i++;
    }
  }
  return sql.length;
}

/** MySQL starts a `--` comment only when a blank or control character follows the dashes. */
function isCommentDashSpace(c: string | undefined): boolean {
  return c === undefined || c <= ' ';
}

function skipLine(sql: string, i: number): number {
  const end = sql.indexOf('\n', i);
  return end === -1 ? sql.length : end + 1;
}

function onlyBlanksAndComments(sql: string, from: number): boolean {
  let i = from;
  while (i < sql.length) {
    const c = sql[i] as string;
    if (c <= ' ' || c === ';') i++;
    else if (c === '#' || (c === '-' && sql[i + 1] === '-' && isCommentDashSpace(sql[i + 2]))) i = skipLine(sql, i);
    else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? sql.length : end + 2;
    } else return false;
  }
  return true;
}

export interface BindOptions {
  /** MySQL 8 has a JSON type to cast to; MariaDB's JSON is text checked by JSON_VALID. */
  readonly jsonCast: boolean;
}

/** The SQL text with every `:name` replaced by its value's literal. A name without a value is an error. */
export function bindParameters(
  parsed: ParsedSql,
  parameters: readonly SqlParameterInput[] | undefined,
  options: BindOptions,
): string {
  const literals = new Map<string, string>();
  for (const parameter of parameters ?? []) {
    if (!parameter.name) throw badRequest('Parameter names are required for MySQL; a parameter has no name.');
    if (literals.has(parameter.name)) throw badRequest(`The parameter '${parameter.name}' is given more than once.`);
    literals.set(parameter.name, toLiteral(parameter, options));
  }
  let sql = parsed.pieces[0] ?? '';
  parsed.names.forEach((name, index) => {
    const literal = literals.get(name);
    if (literal === undefined) throw badRequest(`No value specified for parameter: ${name}`);
    sql += literal + (parsed.pieces[index + 1] ?? '');
  });
  return sql;
}

const FIELD_MEMBERS = [
  'isNull',
  'booleanValue',
  'longValue',
  'doubleValue',
  'stringValue',
  'blobValue',
  'arrayValue',
] as const;

function toLiteral(parameter: SqlParameterInput, options: BindOptions): string {
  const value = parameter.value;
  const set = value ? FIELD_MEMBERS.filter((member) => value[member] !== undefined) : [];
  if (!value || set.length !== 1) {
    throw badRequest(`The parameter '${parameter.name}' must have a value with exactly one member set.`);
  }
  return fieldLiteral(parameter.name as string, value, parameter.typeHint, options);
}

function fieldLiteral(name: string, value: FieldInput, hint: TypeHint | undefined, options: BindOptions): string {
  if (value.isNull !== undefined) return 'NULL';
  if (value.booleanValue !== undefined) return value.booleanValue ? 'TRUE' : 'FALSE';
  if (value.longValue !== undefined) return String(value.longValue);
  // Exponent notation makes MySQL read the literal as a DOUBLE, not an exact DECIMAL.
  if (value.doubleValue !== undefined) return value.doubleValue.toExponential();
  if (value.blobValue !== undefined) return `X'${Buffer.from(value.blobValue, 'base64').toString('hex')}'`;
  if (value.stringValue !== undefined) return stringLiteral(name, value.stringValue, hint, options);
  throw badRequest(`Array parameters are not supported (parameter '${name}').`);
}

const HINT_FORMATS = {
  DATE: { pattern: /^\d{4}-\d{2}-\d{2}$/, cast: 'DATE', text: 'Date format must be yyyy-mm-dd' },
  TIME: { pattern: /^-?\d{2,3}:\d{2}:\d{2}(\.\d{1,9})?$/, cast: 'TIME(6)', text: 'Time format must be hh:mm:ss[.fff]' },
  // ISO 8601's `T` and `Z` are rejected, as the real service does.
  TIMESTAMP: {
    pattern: /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,9})?$/,
    cast: 'DATETIME(6)',
    text: 'Timestamp format must be yyyy-mm-dd hh:mm:ss[.fffffffff]',
  },
} as const;

function stringLiteral(name: string, text: string, hint: TypeHint | undefined, options: BindOptions): string {
  const quoted = mysql.escape(text);
  switch (hint) {
    case 'DATE':
    case 'TIME':
    case 'TIMESTAMP': {
      const format = HINT_FORMATS[hint];
      if (!format.pattern.test(text)) throw badRequest(`${format.text} (parameter '${name}', got ${quoted}).`);
      return `CAST(${quoted} AS ${format.cast})`;
    }
    case 'DECIMAL':
      // A plain numeric literal is an exact DECIMAL in MySQL, with the scale as written.
      if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(text)) {
        throw badRequest(`The DECIMAL parameter '${name}' is not a decimal number: ${quoted}.`);
      }
      return text;
    case 'JSON':
      return options.jsonCast ? `CAST(${quoted} AS JSON)` : quoted;
    default:
      return quoted;
  }
}

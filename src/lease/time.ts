/**
 * Times cross the wire as UTC text, `YYYY-MM-DD HH:MM:SS[.ffffff]`, the form both DATETIME(6) and
 * the Data API use. Only ticks (bounded by the database clock) and results are converted; lease
 * arithmetic itself happens in SQL on the database clock.
 */

export function toSqlTime(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError('toSqlTime needs a valid Date');
  // toISOString gives YYYY-MM-DDTHH:MM:SS.mmmZ; DATETIME(6) takes the same digits without T and Z.
  const iso = date.toISOString();
  // Years beyond 0000–9999 come with a sign and six digits.
  if (iso.length !== 24) return iso.replace('T', ' ').replace('Z', '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

const SQL_TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

/** Parses a DATETIME cell (UTC) to a Date with millisecond precision; null stays null. */
export function fromSqlTime(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') throw new TypeError(`expected a DATETIME string, got ${typeof value}`);
  const m = SQL_TIME.exec(value);
  if (!m) throw new TypeError(`expected a DATETIME string, got ${JSON.stringify(value)}`);
  const ms = m[7] ? Number(m[7].padEnd(6, '0').slice(0, 3)) : 0;
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms));
}

/** Milliseconds to the integer microseconds an `INTERVAL … MICROSECOND` takes. */
export function toMicros(ms: number): number {
  return Math.round(ms * 1000);
}

/**
 * MySQL result columns as the Data API returns them (data-api.md section (b)): each value as a
 * `Field`, `columnMetadata` in MySQL Connector/J terms (java.sql.Types codes), and the objects of
 * `formattedRecords`. mysql2 runs with `supportBigNumbers`, `bigNumberStrings`, `dateStrings`,
 * `decimalNumbers: false` and `jsonStrings`, so BIGINT, DECIMAL and times arrive as exact text.
 */
import { DataApiError } from './errors.js';
import type { JsonValue } from './json.js';

/** The parts of a mysql2 column definition the mapping reads. */
export interface ColumnDefinition {
  readonly name: string;
  readonly orgName: string;
  readonly orgTable: string;
  readonly columnType: number;
  readonly columnLength: number;
  readonly flags: number;
  readonly decimals: number;
  readonly characterSet: number;
  /** MariaDB's extended metadata: `json` marks its JSON columns, which are LONGTEXT on the wire. */
  readonly extendedFormat?: string | undefined;
}

/** A Field as sent: exactly one member; `longValue` as bigint so it is written with all its digits. */
export type Field =
  | { readonly isNull: true }
  | { readonly booleanValue: boolean }
  | { readonly longValue: bigint }
  | { readonly doubleValue: number }
  | { readonly stringValue: string }
  | { readonly blobValue: string };

export interface ColumnMetadata {
  readonly name: string;
  readonly type: number;
  readonly typeName: string;
  readonly label: string;
  readonly schemaName: string;
  readonly tableName: string;
  readonly isAutoIncrement: boolean;
  readonly isSigned: boolean;
  readonly isCurrency: boolean;
  readonly isCaseSensitive: boolean;
  readonly nullable: number;
  readonly precision: number;
  readonly scale: number;
  readonly arrayBaseColumnType: number;
}

export interface ResultSetOptions {
  readonly decimalReturnType?: 'STRING' | 'DOUBLE_OR_LONG' | undefined;
  readonly longReturnType?: 'LONG' | 'STRING' | undefined;
}

/** MySQL protocol column types. */
const T = {
  DECIMAL: 0,
  TINY: 1,
  SHORT: 2,
  LONG: 3,
  FLOAT: 4,
  DOUBLE: 5,
  NULL: 6,
  TIMESTAMP: 7,
  LONGLONG: 8,
  INT24: 9,
  DATE: 10,
  TIME: 11,
  DATETIME: 12,
  YEAR: 13,
  NEWDATE: 14,
  VARCHAR: 15,
  BIT: 16,
  JSON: 245,
  NEWDECIMAL: 246,
  ENUM: 247,
  SET: 248,
  TINY_BLOB: 249,
  MEDIUM_BLOB: 250,
  LONG_BLOB: 251,
  BLOB: 252,
  VAR_STRING: 253,
  STRING: 254,
  GEOMETRY: 255,
} as const;

const FLAG = { NOT_NULL: 1, UNSIGNED: 32, BINARY: 128, ENUM: 256, AUTO_INCREMENT: 512, SET: 2048 } as const;
const BINARY_CHARSET = 63;

/** java.sql.Types codes used by Connector/J. */
const JDBC = {
  BIT: -7,
  TINYINT: -6,
  SMALLINT: 5,
  INTEGER: 4,
  BIGINT: -5,
  REAL: 7,
  DOUBLE: 8,
  DECIMAL: 3,
  CHAR: 1,
  VARCHAR: 12,
  LONGVARCHAR: -1,
  BINARY: -2,
  VARBINARY: -3,
  LONGVARBINARY: -4,
  DATE: 91,
  TIME: 92,
  TIMESTAMP: 93,
  NULL: 0,
} as const;

type Kind = 'boolean' | 'integer' | 'year' | 'float' | 'decimal' | 'date' | 'time' | 'datetime' | 'text' | 'binary';

const INTEGER_TYPES: ReadonlySet<number> = new Set([T.TINY, T.SHORT, T.INT24, T.LONG, T.LONGLONG]);
const NUMERIC_TYPES: ReadonlySet<number> = new Set([...INTEGER_TYPES, T.FLOAT, T.DOUBLE, T.DECIMAL, T.NEWDECIMAL]);
const TEXT_TYPES: ReadonlySet<number> = new Set([
  T.VARCHAR,
  T.VAR_STRING,
  T.STRING,
  T.ENUM,
  T.SET,
  T.TINY_BLOB,
  T.MEDIUM_BLOB,
  T.LONG_BLOB,
  T.BLOB,
  T.JSON,
]);

function kindOf(column: ColumnDefinition): Kind {
  const type = column.columnType;
  // Connector/J's tinyInt1isBit: TINYINT(1) and BOOLEAN read as booleans, as BIT(n) does.
  if (type === T.BIT || (type === T.TINY && column.columnLength === 1)) return 'boolean';
  if (INTEGER_TYPES.has(type)) return 'integer';
  if (type === T.YEAR) return 'year';
  if (type === T.FLOAT || type === T.DOUBLE) return 'float';
  if (type === T.DECIMAL || type === T.NEWDECIMAL) return 'decimal';
  if (type === T.DATE || type === T.NEWDATE) return 'date';
  if (type === T.TIME) return 'time';
  if (type === T.DATETIME || type === T.TIMESTAMP) return 'datetime';
  if (type === T.NULL) return 'text';
  if (TEXT_TYPES.has(type)) return column.characterSet === BINARY_CHARSET && type !== T.JSON ? 'binary' : 'text';
  const name = BASE_TYPE_NAMES[type] ?? String(type);
  throw new DataApiError('UnsupportedResultException', `The result contains the unsupported data type ${name}.`);
}

/** A column's reader: turns each mysql2 value into a Field, honouring `resultSetOptions`. */
export type FieldReader = (value: unknown) => Field;

export function fieldReader(column: ColumnDefinition, options: ResultSetOptions = {}): FieldReader {
  const kind = kindOf(column);
  const longAsString = options.longReturnType === 'STRING';
  const decimalAsNumber = options.decimalReturnType === 'DOUBLE_OR_LONG';
  return function readField(value) {
    if (value === null || value === undefined) return { isNull: true };
    switch (kind) {
      case 'boolean':
        return { booleanValue: Buffer.isBuffer(value) ? value.some((byte) => byte !== 0) : Number(value) !== 0 };
      case 'integer':
        return longAsString ? { stringValue: String(value) } : { longValue: BigInt(String(value)) };
      case 'float':
        return { doubleValue: Number(value) };
      case 'decimal':
        if (!decimalAsNumber) return { stringValue: String(value) };
        return column.decimals === 0 ? { longValue: BigInt(String(value)) } : { doubleValue: Number(value) };
      case 'time':
      case 'datetime':
        return { stringValue: trimFraction(String(value)) };
      case 'binary':
        return { blobValue: Buffer.from(value as Uint8Array).toString('base64') };
      default:
        return { stringValue: Buffer.isBuffer(value) ? value.toString('utf8') : String(value) };
    }
  };
}

/** `12:00:00.120000` → `12:00:00.12`; a zero fraction goes entirely, as the service prints times. */
function trimFraction(text: string): string {
  return text.replace(/\.(\d*?)0*$/, (_, digits: string) => (digits ? `.${digits}` : ''));
}

/** A Field as a value of `formattedRecords` (formatRecordsAs JSON). */
export function formattedValue(field: Field): JsonValue {
  if ('isNull' in field) return null;
  if ('booleanValue' in field) return field.booleanValue;
  if ('longValue' in field) return field.longValue;
  if ('doubleValue' in field) return field.doubleValue;
  if ('stringValue' in field) return field.stringValue;
  return field.blobValue;
}

export interface MetadataContext {
  /** Bytes per character of each collation id, to turn byte lengths into character counts. */
  readonly maxBytesPerChar: ReadonlyMap<number, number>;
}

export function columnMetadata(column: ColumnDefinition, context: MetadataContext): ColumnMetadata {
  const kind = kindOf(column);
  const unsigned = (column.flags & FLAG.UNSIGNED) !== 0;
  const numeric = NUMERIC_TYPES.has(column.columnType) && kind !== 'boolean';
  const isJson = column.columnType === T.JSON || column.extendedFormat === 'json';
  return {
    name: column.orgName || column.name,
    type: isJson ? JDBC.CHAR : jdbcTypeOf(column, kind),
    typeName: isJson ? 'JSON' : typeNameOf(column, numeric && unsigned, bytesPerChar(column, context)),
    label: column.name,
    schemaName: '',
    tableName: column.orgTable,
    isAutoIncrement: (column.flags & FLAG.AUTO_INCREMENT) !== 0,
    isSigned: numeric && !unsigned,
    isCurrency: false,
    isCaseSensitive:
      kind === 'binary' || (kind === 'text' && column.columnType !== T.NULL && (column.flags & FLAG.BINARY) !== 0),
    nullable: (column.flags & FLAG.NOT_NULL) !== 0 ? 0 : 1,
    precision: precisionOf(column, kind, unsigned, context),
    scale: kind === 'decimal' ? column.decimals : 0,
    arrayBaseColumnType: 0,
  };
}

function jdbcTypeOf(column: ColumnDefinition, kind: Kind): number {
  switch (column.columnType) {
    case T.TINY:
      return kind === 'boolean' ? JDBC.BIT : JDBC.TINYINT;
    case T.BIT:
      return JDBC.BIT;
    case T.SHORT:
      return JDBC.SMALLINT;
    case T.INT24:
    case T.LONG:
      return JDBC.INTEGER;
    case T.LONGLONG:
      return JDBC.BIGINT;
    case T.FLOAT:
      return JDBC.REAL;
    case T.DOUBLE:
      return JDBC.DOUBLE;
    case T.DECIMAL:
    case T.NEWDECIMAL:
      return JDBC.DECIMAL;
    case T.DATE:
    case T.NEWDATE:
    case T.YEAR:
      return JDBC.DATE;
    case T.TIME:
      return JDBC.TIME;
    case T.DATETIME:
    case T.TIMESTAMP:
      return JDBC.TIMESTAMP;
    case T.NULL:
      return JDBC.NULL;
    case T.STRING:
    case T.ENUM:
    case T.SET:
      return kind === 'binary' ? JDBC.BINARY : JDBC.CHAR;
    case T.VARCHAR:
    case T.VAR_STRING:
      return kind === 'binary' ? JDBC.VARBINARY : JDBC.VARCHAR;
    default:
      return kind === 'binary' ? JDBC.LONGVARBINARY : JDBC.LONGVARCHAR;
  }
}

const BASE_TYPE_NAMES: Readonly<Record<number, string>> = {
  [T.TINY]: 'TINYINT',
  [T.SHORT]: 'SMALLINT',
  [T.INT24]: 'MEDIUMINT',
  [T.LONG]: 'INT',
  [T.LONGLONG]: 'BIGINT',
  [T.FLOAT]: 'FLOAT',
  [T.DOUBLE]: 'DOUBLE',
  [T.DECIMAL]: 'DECIMAL',
  [T.NEWDECIMAL]: 'DECIMAL',
  [T.DATE]: 'DATE',
  [T.NEWDATE]: 'DATE',
  [T.TIME]: 'TIME',
  [T.DATETIME]: 'DATETIME',
  [T.TIMESTAMP]: 'TIMESTAMP',
  [T.YEAR]: 'YEAR',
  [T.BIT]: 'BIT',
  [T.NULL]: 'NULL',
  [T.JSON]: 'JSON',
  [T.GEOMETRY]: 'GEOMETRY',
};

function typeNameOf(column: ColumnDefinition, unsigned: boolean, charBytes: number): string {
  const type = column.columnType;
  const binary = column.characterSet === BINARY_CHARSET;
  if (type === T.TINY && column.columnLength === 1) return 'BIT';
  const base = BASE_TYPE_NAMES[type];
  if (base) return unsigned ? `${base} UNSIGNED` : base;
  if ((column.flags & FLAG.ENUM) !== 0 || type === T.ENUM) return 'ENUM';
  if ((column.flags & FLAG.SET) !== 0 || type === T.SET) return 'SET';
  if (type === T.STRING) return binary ? 'BINARY' : 'CHAR';
  if (type === T.VARCHAR || type === T.VAR_STRING) return binary ? 'VARBINARY' : 'VARCHAR';
  // BLOB and TEXT columns share one protocol type; the size tells TINY, plain, MEDIUM and LONG apart.
  const chars = column.columnLength / charBytes;
  const size = chars <= 255 ? 'TINY' : chars <= 65_535 ? '' : chars <= 16_777_215 ? 'MEDIUM' : 'LONG';
  return `${size}${binary ? 'BLOB' : 'TEXT'}`;
}

function bytesPerChar(column: ColumnDefinition, context: MetadataContext): number {
  if (column.characterSet === BINARY_CHARSET) return 1;
  return context.maxBytesPerChar.get(column.characterSet) ?? 1;
}

function precisionOf(column: ColumnDefinition, kind: Kind, unsigned: boolean, context: MetadataContext): number {
  if (kind === 'text') return Math.floor(column.columnLength / bytesPerChar(column, context));
  // DECIMAL's display length counts the point and the sign; precision counts digits only.
  if (kind === 'decimal') return column.columnLength - (column.decimals > 0 ? 1 : 0) - (unsigned ? 0 : 1);
  return column.columnLength;
}

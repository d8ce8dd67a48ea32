/**
 * JSON output with exact 64-bit integers. `JSON.stringify` cannot write a BigInt, and a BIGINT
 * squeezed through a JS number loses digits beyond 2^53; Java and Python clients of the real
 * service keep them, so `bigint` values are written from their digits.
 */
export type JsonValue =
  | string
  | number
  | boolean
  | bigint
  | null
  | undefined
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

/** Serialises like `JSON.stringify` (undefined members are left out), writing `bigint` as digits. */
export function stringifyJson(value: JsonValue): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'bigint':
      return value.toString();
    case 'number':
    case 'boolean':
    case 'string':
      return JSON.stringify(value);
    default:
      break;
  }
  if (Array.isArray(value)) return `[${value.map(stringifyJson).join(',')}]`;
  const members: string[] = [];
  for (const [key, member] of Object.entries(value as Record<string, JsonValue>)) {
    if (member !== undefined) members.push(`${JSON.stringify(key)}:${stringifyJson(member)}`);
  }
  return `{${members.join(',')}}`;
}

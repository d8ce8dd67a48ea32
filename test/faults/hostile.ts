/** Hostile text for names, times and statements: SQL fragments, control characters and unicode. */
import fc from 'fast-check';

export const SQL_FRAGMENTS = [
  "'; DROP TABLE lease_guard; --",
  "' OR '1'='1",
  '`; DELETE FROM lease_guard; --',
  'job" OR 1=1 --',
  '1; UPDATE lease_guard SET fence = 0',
  '/* */ UNION SELECT * FROM mysql.user --',
  '\\',
  '\u0000',
  '%s%s%n',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal template-injection attempt, on purpose
  '${process.exit()}',
  'lease_guard`; --',
  'ＤＲＯＰ ＴＡＢＬＥ',
  'Robert\u2019); DROP TABLE Students;--',
] as const;

/** Arbitrary text: unicode graphemes, raw code units, SQL fragments, and mixes of them. */
export function hostileText(maxLength = 200): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: 'grapheme', maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.constantFrom(...SQL_FRAGMENTS),
    fc
      .tuple(fc.string({ maxLength: 20 }), fc.constantFrom(...SQL_FRAGMENTS), fc.string({ maxLength: 20 }))
      .map((parts) => parts.join('')),
    fc.string({ minLength: 120, maxLength: 400 }),
  );
}

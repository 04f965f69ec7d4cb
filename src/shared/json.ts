/** A JSON.stringify replacer for values that hold bigints (file ids, nanosecond times): written as decimal strings. */
export function bigintReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

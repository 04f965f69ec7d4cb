/** A message as a sentence: a capital first letter and a full stop (engine messages start lower case). */
export function asSentence(text: string): string {
  const t = text.trim();
  if (t === '') return t;
  const first = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

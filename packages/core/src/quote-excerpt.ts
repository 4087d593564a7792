/**
 * Text from outside (a device's topic, property name or value) as an error message quotes it: JSON-quoted,
 * so control characters and quotes cannot break a log line, and at most `max` characters of it with the
 * full length after, so a 100,000-character name makes a short message.
 */
export function quoteExcerpt(text: string, max = 64): string {
  if (text.length <= max) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, max)).slice(0, -1)}…" (${text.length} characters)`;
}

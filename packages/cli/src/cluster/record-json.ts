/**
 * The JSON object a cluster topic record holds, or undefined for anything else: a record over `maxBytes`
 * (read before parsing, so a hostile writer cannot make a member parse gigabytes), text that is not JSON, or
 * JSON that is not an object. Records come from other processes: the callers check every field.
 */
export function recordObject(value: Buffer, maxBytes: number): Record<string, unknown> | undefined {
  if (value.length > maxBytes) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
  return typeof data === 'object' && data !== null && !Array.isArray(data) ? data as Record<string, unknown> : undefined;
}

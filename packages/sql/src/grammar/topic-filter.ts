/**
 * What is wrong with a FROM topic filter, or undefined when it is a valid MQTT topic filter (MQTT 5
 * §4.7, the checks EMQX's emqx_topic:validate makes): not empty, no NUL character, at most 65,535
 * UTF-8 bytes, `#` only as the whole last level, `+` only as a whole level. `$share/<group>/<filter>`
 * and `$queue/<filter>` are checked as the filter they wrap (the group must be a non-empty name
 * without wildcards). `$events/...` and other `$` topics are ordinary filters.
 */
export function topicFilterProblem(filter: string): string | undefined {
  if (filter === '') return 'an empty topic filter matches no topic';
  if (filter.includes('\u0000')) return 'a topic filter cannot contain the NUL character';
  if (Buffer.byteLength(filter, 'utf8') > MAX_TOPIC_BYTES) return `a topic filter is at most ${MAX_TOPIC_BYTES} bytes long`;
  if (filter.startsWith('$share/')) {
    const rest = filter.slice('$share/'.length);
    const slash = rest.indexOf('/');
    const group = slash === -1 ? rest : rest.slice(0, slash);
    if (slash === -1 || group === '') return 'a shared subscription is written $share/<group>/<filter>';
    if (group.includes('+') || group.includes('#')) return 'the group of $share/<group>/<filter> cannot hold + or #';
    return levelsProblem(rest.slice(slash + 1));
  }
  if (filter.startsWith('$queue/')) return levelsProblem(filter.slice('$queue/'.length));
  return levelsProblem(filter);
}

const MAX_TOPIC_BYTES = 65_535;

function levelsProblem(filter: string): string | undefined {
  if (filter === '') return 'the filter after the $share or $queue prefix is empty';
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as string;
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return "'#' must be a whole level and the last one";
    if (level.includes('+') && level !== '+') return "'+' must be a whole level";
  }
  return undefined;
}

import { describe, expect, it } from '@jest/globals';
import type { RuleOutput, Template } from './rule-engine';
import { splitPlaceholders, TopicTemplate } from './topic-template';

/** A stand-in for the SQL engine's templates: `${a.b}` looks a path up, a missing value renders '', `$${` is a literal `${`. */
const templates = {
  compileTemplate(text: string): Template {
    const isConstant = !/(^|[^$])\$\{/.test(text);
    return {
      source: text,
      isConstant,
      render: (output: RuleOutput) => text
        .replace(/(^|[^$])\$\{([^${}]*)\}/g, (_, before: string, path: string) => {
          const value = path.split('.').reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], output);
          return before + (value === undefined ? '' : String(value));
        })
        .replace(/\$\$\{/g, '${'),
    };
  },
};

describe(TopicTemplate.name, () => {
  it('renders each placeholder, and names the first one without a value instead of rendering a short name', () => {
    const topic = new TopicTemplate('plant-${site}.${dev}', templates);
    expect(topic.constant).toBeUndefined();
    expect(topic.render({ site: 'north', dev: 7 })).toBe('plant-north.7');
    expect(topic.render({ dev: 7 })).toEqual({ missing: '${site}' });
  });

  it('has a constant for a template without placeholders, escapes included', () => {
    expect(new TopicTemplate('dead-letters', templates).constant).toBe('dead-letters');
    expect(new TopicTemplate('a/$${x}', templates).constant).toBe('a/${x}');
    expect(new TopicTemplate('a/$${x}/${c}', templates).render({ c: 'z' })).toBe('a/${x}/z');
  });
});

describe(splitPlaceholders.name, () => {
  it('splits literal text from placeholders, keeping an escaped $${ in the literal', () => {
    expect(splitPlaceholders('t-${a}.${b.c}x')).toEqual(['t-', { placeholder: '${a}' }, '.', { placeholder: '${b.c}' }, 'x']);
    expect(splitPlaceholders('dead/${clientid}/${topic}')).toEqual(['dead/', { placeholder: '${clientid}' }, '/', { placeholder: '${topic}' }]);
    expect(splitPlaceholders('a$${b}/${c}')).toEqual(['a$${b}/', { placeholder: '${c}' }]);
  });
});

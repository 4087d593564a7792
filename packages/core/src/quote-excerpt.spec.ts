import { describe, expect, it } from '@jest/globals';
import { quoteExcerpt } from './quote-excerpt';

describe(quoteExcerpt.name, () => {
  it('quotes short text whole, with quotes and control characters escaped', () => {
    expect(quoteExcerpt('a"b\nc')).toBe('"a\\"b\\nc"');
  });

  it('cuts long text to max characters and gives its length', () => {
    expect(quoteExcerpt('x'.repeat(100), 4)).toBe('"xxxx…" (100 characters)');
  });
});

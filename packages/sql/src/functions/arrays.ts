import { exactEquals } from '../operators';
import { badArg, fnError, integer, list, type FunctionDef } from './args';

/** Array functions (RULE-SQL.md §8.6): 1-based positions, as Erlang's lists module. */
export const ARRAY_FUNCTIONS: readonly FunctionDef[] = [
  [
    'nth',
    2,
    2,
    (args) => {
      const n = integer('nth', 1, args[0]);
      const l = list('nth', 2, args[1]);
      if (n < 1 || n > l.length) throw fnError('nth', `index ${n} is out of range 1..${l.length}`);
      return l[n - 1];
    },
  ],
  ['length', 1, 1, (args) => list('length', 1, args[0]).length],
  [
    'sublist',
    2,
    3,
    (args) => {
      if (args.length === 2) {
        const len = integer('sublist', 1, args[0]);
        if (len < 0) return badArg('sublist', 1, 'a non-negative integer', args[0]);
        return list('sublist', 2, args[1]).slice(0, len);
      }
      const start = integer('sublist', 1, args[0]);
      const len = integer('sublist', 2, args[1]);
      const l = list('sublist', 3, args[2]);
      if (start < 1) return badArg('sublist', 1, 'a positive integer', args[0]);
      if (len < 0) return badArg('sublist', 2, 'a non-negative integer', args[1]);
      return l.slice(start - 1, start - 1 + len);
    },
  ],
  [
    'first',
    1,
    1,
    (args) => {
      const l = list('first', 1, args[0]);
      if (l.length === 0) throw fnError('first', 'the array is empty');
      return l[0];
    },
  ],
  [
    'last',
    1,
    1,
    (args) => {
      const l = list('last', 1, args[0]);
      if (l.length === 0) throw fnError('last', 'the array is empty');
      return l[l.length - 1];
    },
  ],
  [
    'contains',
    2,
    2,
    (args) => {
      const v = args[0];
      return list('contains', 2, args[1]).some((e) => exactEquals(e, v));
    },
  ],
];

import { ENGINE_CASES } from './engine-cases';
import { FUNCS_CASES } from './funcs-cases';
import { MAPS_CASES } from './maps-cases';
import { RULESQL_CASES } from './rulesql-cases';
import { SQLTESTER_CASES } from './sqltester-cases';
import type { ConformanceCase } from './types';

export type { ConformanceCase, Group, Pending } from './types';

/** Every case of the corpus, in suite order. */
export const CONFORMANCE_CASES: readonly ConformanceCase[] = [...FUNCS_CASES, ...ENGINE_CASES, ...MAPS_CASES, ...SQLTESTER_CASES, ...RULESQL_CASES];

'use strict';
// Stand-in for @sluice/sql's function registry (names and argument counts only).
const ENTRIES = { abs: [1, 1], regex_match: [2, 2], gunzip: [1, 1], pad: [2, 4] };
module.exports = {
  functionNames: () => Object.keys(ENTRIES),
  lookupFunctionEntry: (name) => ({ minArgs: ENTRIES[name][0], maxArgs: ENTRIES[name][1] }),
};

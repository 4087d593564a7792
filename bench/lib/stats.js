'use strict';
// Latency summaries from a Float64Array of milliseconds.

function summarize(values, count = values.length) {
  if (count === 0) return { n: 0, p50: null, p99: null, max: null };
  const sorted = Float64Array.from(values.subarray ? values.subarray(0, count) : values.slice(0, count)).sort();
  const at = (q) => sorted[Math.min(count - 1, Math.floor(q * count))];
  return { n: count, p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted[count - 1]) };
}

function round(x, digits = 1) {
  if (x === null || x === undefined || !Number.isFinite(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** The middle value of a list of numbers (the mean of the two middle ones for an even count); null when empty. */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

module.exports = { summarize, round, median };

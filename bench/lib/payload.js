'use strict';
// The published reading: numbered JSON like the temperature/humidity devices, with the publish time in
// microseconds since the epoch (an integer, so every hop carries it unchanged), padded to a target size.

const nowMicros = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

const pads = new Map();
function pad(n) {
  let p = pads.get(n);
  if (p === undefined) pads.set(n, (p = 'x'.repeat(n)));
  return p;
}

function makePayload(seq, size) {
  const base = `{"seq":${seq},"ts":${nowMicros()},"temp":${(20 + (seq % 100) / 10).toFixed(1)},"hum":${(35 + (seq % 200) / 10).toFixed(1)}`;
  const room = size - base.length - 10; // ,"pad":"" and }
  return room > 0 ? `${base},"pad":"${pad(room)}"}` : `${base}}`;
}

module.exports = { makePayload, nowMicros };

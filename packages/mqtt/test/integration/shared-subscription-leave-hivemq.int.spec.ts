import { afterAll, afterEach, beforeAll, describe, jest } from '@jest/globals';
import { startHiveMq, type TestHiveMq } from '../../../../scripts/testkit';
import { shareGroupLeaveSpecs } from '../share-group-leave-suite';
import { Closer } from '../source-harness';

// Issue #13: the same departures as shared-subscription-leave.int.spec.ts, on HiveMQ CE (which routes nothing
// to an offline member, but keeps its session and unacknowledged messages for sessionExpiry).
jest.setTimeout(60_000);
const closer = new Closer();
let broker: TestHiveMq;

beforeAll(async () => {
  broker = await startHiveMq();
}, 120_000);

afterAll(async () => {
  await broker?.stop();
});

afterEach(async () => {
  await closer.closeAll();
});

describe('MqttSource leaving a shared subscription on stop, on HiveMQ CE', () => {
  shareGroupLeaveSpecs(() => broker, closer);
});

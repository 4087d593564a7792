import { describe, expect, it } from '@jest/globals';
import { kafkaLeftMessage, shouldStopKafka, stopCommand, type KafkaOrigin } from './demo-kafka';

const broker = { version: '4.1.2', bootstrap: '127.0.0.1:19092', pid: 4242, startedBy: 'jest run (pid 77)' };
const started: KafkaOrigin = { kind: 'started', bootstrap: broker.bootstrap, broker };
const reused: KafkaOrigin = { kind: 'reused', bootstrap: broker.bootstrap, broker };
const given: KafkaOrigin = { kind: 'given', bootstrap: 'kafka.example:9092' };

describe('what the demo does with Kafka when it ends', () => {
  it('stops only a broker it started itself, and not with --keep-kafka', () => {
    expect(shouldStopKafka(started, false)).toBe(true);
    expect(shouldStopKafka(started, true)).toBe(false);
    expect(shouldStopKafka(reused, false)).toBe(false);
    expect(shouldStopKafka(given, false)).toBe(false);
  });

  it('says which broker still runs, who started it, and the command that stops it', () => {
    expect(kafkaLeftMessage(reused, false)).toBe(
      'Kafka 4.1.2 on 127.0.0.1:19092 (pid 4242, started by jest run (pid 77)) was already running before the demo; ' +
        'it is still running in the background (a JVM of about 450 MB); stop it with `npm run kafka:stop`',
    );
    expect(kafkaLeftMessage(started, true)).toContain('kept (--keep-kafka); it is still running');
    expect(kafkaLeftMessage(given, false)).toBe('Kafka at kafka.example:9092 (--kafka) was not started by the demo; left as it is');
  });

  it('names the other users when a broker it started is still in use, and says so when stopping failed', () => {
    const inUse = { stopped: false, running: true, heldBy: [{ pid: 99, label: 'jest run (pid 99)' }], ms: 3 };
    expect(kafkaLeftMessage(started, false, inUse)).toContain('left running: still used by jest run (pid 99); it is still running');
    expect(kafkaLeftMessage(started, false, new Error('scripts/kafka.js release did not finish within 40 s'))).toBe(
      'could not stop Kafka 4.1.2 on 127.0.0.1:19092 (pid 4242, started by jest run (pid 77)): scripts/kafka.js release did not finish ' +
        'within 40 s; it is still running in the background (a JVM of about 450 MB); stop it with `npm run kafka:stop`',
    );
    expect(kafkaLeftMessage(started, false, { stopped: false, running: false, heldBy: [], ms: 1 })).toContain('is not running any more');
  });

  it('the stop command names a state folder other than the default one', () => {
    expect(stopCommand({})).toBe('npm run kafka:stop');
    expect(stopCommand({ SLUICE_KAFKA_STATE_DIR: '/tmp/k' })).toBe('SLUICE_KAFKA_STATE_DIR=/tmp/k npm run kafka:stop');
  });
});

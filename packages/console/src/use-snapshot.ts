// The live status and metrics of GET /api/stream (one snapshot a second), with the previous one kept so
// pages can show rates computed from counter deltas.
import { useEffect, useState } from 'preact/hooks';
import { stream } from './api';
import type { StreamSnapshot } from './api-types';

export interface SnapshotPair {
  readonly current: StreamSnapshot | undefined;
  readonly previous: StreamSnapshot | undefined;
}

export function useSnapshot(): SnapshotPair {
  const [pair, setPair] = useState<SnapshotPair>({ current: undefined, previous: undefined });
  useEffect(() => {
    const controller = new AbortController();
    void stream('api/stream', (event, data) => {
      if (event !== 'snapshot' || typeof data !== 'object' || data === null) return;
      setPair((old) => ({ current: data as StreamSnapshot, previous: old.current }));
    }, controller.signal);
    return () => controller.abort();
  }, []);
  return pair;
}

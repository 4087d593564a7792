import type { JSX } from 'preact';
import type { ComponentStatus } from '../api-types';

/** A state as a coloured badge, with the reason (when there is one) under it. */
export function StatusBadge(props: { status: ComponentStatus | undefined }): JSX.Element {
  const state = props.status?.state ?? 'unknown';
  return (
    <>
      <span class={`badge badge-${state}`}>{state}</span>
      {props.status?.reason !== undefined && <span class="reason">{props.status.reason}</span>}
    </>
  );
}

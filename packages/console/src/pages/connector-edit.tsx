import type { JSX } from 'preact';

export function ConnectorEditPage(props: { id?: string }): JSX.Element {
  return <h1>{props.id ?? 'New connector'}</h1>;
}

import type { JSX } from 'preact';

export function ConnectorsPage(): JSX.Element {
  return <h1>connectors</h1>;
}

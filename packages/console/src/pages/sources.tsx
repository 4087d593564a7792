import type { JSX } from 'preact';

export function SourcesPage(): JSX.Element {
  return <h1>sources</h1>;
}

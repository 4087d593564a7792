import type { JSX } from 'preact';

export function OverviewPage(): JSX.Element {
  return <h1>overview</h1>;
}

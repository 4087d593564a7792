import type { JSX } from 'preact';

export function SourceEditPage(props: { id?: string }): JSX.Element {
  return <h1>{props.id ?? 'New source'}</h1>;
}

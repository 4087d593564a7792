import type { JSX } from 'preact';
import { EntryEditor } from '../components/entry-editor';

/** Create (no id) or edit a source. */
export function SourceEditPage(props: { id?: string }): JSX.Element {
  return <EntryEditor kind="sources" {...(props.id === undefined ? {} : { id: props.id })} />;
}

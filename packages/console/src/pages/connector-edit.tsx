import type { JSX } from 'preact';
import { EntryEditor } from '../components/entry-editor';

/** Create (no id) or edit a connector. */
export function ConnectorEditPage(props: { id?: string }): JSX.Element {
  return <EntryEditor kind="connectors" {...(props.id === undefined ? {} : { id: props.id })} />;
}

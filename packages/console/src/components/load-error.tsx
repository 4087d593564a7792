import type { JSX } from 'preact';
import type { ApiError } from '../api';

/** A failed load, where the content would have been, with a way to try again. */
export function LoadError(props: { error: ApiError; what: string; onRetry(): void }): JSX.Element {
  return (
    <div class="alert alert-error" role="alert">
      <p>Could not load {props.what}: {props.error.body.error}</p>
      <button type="button" onClick={props.onRetry}>Try again</button>
    </div>
  );
}

import type { ComponentChildren, JSX } from 'preact';

/** What a new user sees instead of an empty list: what this is for and what to do first. */
export function EmptyState(props: { children: ComponentChildren; action?: ComponentChildren }): JSX.Element {
  return (
    <div class="empty">
      <p>{props.children}</p>
      {props.action}
    </div>
  );
}

import type { JSX } from 'preact';
import { href } from '../paths';

export function NotFoundPage(): JSX.Element {
  return (
    <section class="page">
      <h1>Page not found</h1>
      <p>There is nothing here. <a href={href('')}>Go to the overview</a>.</p>
    </section>
  );
}

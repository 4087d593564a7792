// Where the console lives. The server rewrites index.html's <base href> to its mount prefix ('/' for
// `sluice run`, '/sluice/' in a host service, ...): client routes live under it and API paths are resolved
// against it, so the same build works under any prefix.

/** The mount prefix, always ending with '/'. */
export const ROOT: string = new URL(document.baseURI).pathname.replace(/\/?$/, '/');

/** The URL path of a console page: `href('rules/a')` → '/sluice/rules/a' under the '/sluice/' prefix. */
export function href(page: string): string {
  return ROOT + page.replace(/^\/+/, '');
}

/** The absolute URL of an API path such as 'api/rules' (relative to the mount prefix). */
export function apiUrl(path: string): string {
  return new URL(path.replace(/^\/+/, ''), document.baseURI).href;
}

/** Goes to a console page without reloading (the router follows popstate). */
export function navigate(page: string, options: { replace?: boolean } = {}): void {
  const url = href(page);
  if (options.replace === true) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  dispatchEvent(new PopStateEvent('popstate'));
}

/** The current page relative to the mount prefix, without a leading '/' ('' for the overview). */
export function currentPage(): string {
  const path = location.pathname;
  return path.startsWith(ROOT) ? path.slice(ROOT.length) : path.replace(/^\/+/, '');
}

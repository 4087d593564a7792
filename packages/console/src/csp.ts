// The server's Content-Security-Policy allows styles from 'self' only, plus, for the <style> elements
// CodeMirror creates at run time, a nonce fresh per page load: the server writes it into
// <meta name="csp-nonce" content="..."> of index.html (as it rewrites <base href>), and the SQL editor hands
// it to CodeMirror (`EditorView.cspNonce.of(cspNonce())`). Empty when the page was served without one.

/** The style nonce of this page load, or '' when there is none. */
export function cspNonce(): string {
  return document.querySelector<HTMLMetaElement>('meta[name="csp-nonce"]')?.content ?? '';
}

// What GET /api/session said, shared by the shell (sign out shown only when a token is required) and
// the login page.
import type { SessionInfo } from './api-types';

let info: SessionInfo | undefined;
const listeners = new Set<() => void>();

export const sessionInfo = {
  get(): SessionInfo | undefined {
    return info;
  },
  set(next: SessionInfo | undefined): void {
    info = next;
    for (const listener of listeners) listener();
  },
  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};

// The console's client of the Sluice HTTP API (contract: CONSOLE-API "Console client library"). Every
// request carries the token from sessionStorage; a 401 sends the user to the login page.
import { apiUrl, currentPage, navigate } from './paths';
import { EventSourceParserStream } from 'eventsource-parser/stream';

export interface ApiErrorBody {
  error: string;
  code?: string;
  issues?: { path: string; message: string }[];
  line?: number;
  column?: number;
}

/** A non-2xx answer (status 0: the server could not be reached). */
export class ApiError extends Error {
  readonly status: number;
  readonly body: ApiErrorBody;

  constructor(status: number, body: ApiErrorBody) {
    super(body.error);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
  }
}

const TOKEN_KEY = 'sluice.token';

/** The API token of this browser tab (sessionStorage: gone when the tab closes). */
export const session: { token(): string | undefined; setToken(token: string | undefined): void } = {
  token() {
    return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  },
  setToken(token) {
    if (token === undefined || token === '') sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  },
};

export type ConnectionState = 'unknown' | 'online' | 'offline';

/** Whether the server answered the last request or stream (the header's connection dot). */
export const connection = createConnection();

function createConnection(): { state(): ConnectionState; subscribe(listener: (state: ConnectionState) => void): () => void; set(state: ConnectionState): void } {
  let current: ConnectionState = 'unknown';
  const listeners = new Set<(state: ConnectionState) => void>();
  return {
    state: () => current,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    set(state) {
      if (state === current) return;
      current = state;
      for (const listener of listeners) listener(state);
    },
  };
}

function headers(extra: Record<string, string>): Record<string, string> {
  const token = session.token();
  return token === undefined ? extra : { ...extra, authorization: `Bearer ${token}` };
}

/** Sends the user to the login page (and back here after signing in). */
function unauthorized(): void {
  const page = currentPage();
  if (page === 'login' || page.startsWith('login?')) return;
  const next = page + location.search;
  navigate(next === '' ? 'login' : `login?next=${encodeURIComponent(next)}`, { replace: true });
}

function isErrorBody(value: unknown): value is ApiErrorBody {
  return typeof value === 'object' && value !== null && typeof (value as { error?: unknown }).error === 'string';
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** JSON request relative to the API root; throws ApiError on non-2xx; 401 sends the user to the login page. */
export async function api<T>(
  path: string,
  init?: { method?: 'GET' | 'PUT' | 'POST' | 'DELETE'; body?: unknown; ifMatch?: string; signal?: AbortSignal },
): Promise<T> {
  const extra: Record<string, string> = { accept: 'application/json' };
  if (init?.body !== undefined) extra['content-type'] = 'application/json';
  if (init?.ifMatch !== undefined) extra['if-match'] = init.ifMatch;
  let response: Response;
  try {
    response = await fetch(apiUrl(path), {
      method: init?.method ?? 'GET',
      headers: headers(extra),
      credentials: 'same-origin',
      cache: 'no-store',
      ...(init?.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      ...(init?.signal === undefined ? {} : { signal: init.signal }),
    });
  } catch (error) {
    if (init?.signal?.aborted === true) throw error;
    connection.set('offline');
    throw new ApiError(0, { error: 'The Sluice server cannot be reached. Is `sluice run` still running?', code: 'ERR_NETWORK' });
  }
  connection.set('online');
  const text = await response.text();
  const json = text === '' ? undefined : parseJson(text);
  if (!response.ok) {
    if (response.status === 401) unauthorized();
    throw new ApiError(response.status, isErrorBody(json) ? json : { error: `The server answered ${response.status} ${response.statusText}`.trim() });
  }
  return json as T;
}

const RECONNECT_MS = 2000;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

/** Reads an SSE endpoint with fetch (token header); calls onEvent per event; resolves when signal aborts; reconnects after 2 s on error. */
export async function stream(path: string, onEvent: (event: string, data: unknown) => void, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      const response = await fetch(apiUrl(path), { headers: headers({ accept: 'text/event-stream' }), cache: 'no-store', credentials: 'same-origin', signal });
      connection.set('online');
      if (response.status === 401) unauthorized();
      else if (response.ok && response.body !== null) {
        const reader = response.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          deliver(onEvent, value.event ?? 'message', value.data);
        }
      }
    } catch {
      if (signal.aborted) break;
      connection.set('offline');
    }
    await sleep(RECONNECT_MS, signal);
  }
}

function deliver(onEvent: (event: string, data: unknown) => void, event: string, data: string): void {
  const parsed = parseJson(data);
  try {
    onEvent(event, parsed === undefined ? data : parsed);
  } catch (error) {
    // A page's handler failing must not tear the stream down (it would reconnect in a loop).
    console.error('console: an event handler failed', error);
  }
}

/**
 * An answer other than 2xx that a route, hook or body parser decided on, thrown so that the plugin's error
 * handler sends it: the body is the API's error shape (`{ error, code?, issues?, line?, column? }`).
 * `malformed` marks input anyone can send (bad JSON, a bad id): logged at debug level only, so a scanner
 * cannot flood the log.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: Readonly<Record<string, unknown>>,
    readonly options: { readonly malformed?: boolean; readonly headers?: Readonly<Record<string, string>> } = {},
  ) {
    super(typeof body['error'] === 'string' ? body['error'] : `HTTP ${status}`);
    this.name = 'ApiError';
  }

  /** Malformed input: a 400 that says what to fix. */
  static badRequest(error: string): ApiError {
    return new ApiError(400, { error }, { malformed: true });
  }
}

/** Where the integration tests' database is, and how to log in to it (a throw-away local role). */
export interface TestDatabase {
  readonly host: string;
  readonly port: number;
  /** host:port */
  readonly server: string;
  readonly database: string;
  readonly username: string;
  readonly password: string;
}

/** Creates the tests' role and database when missing, and makes the server check that role's password. */
export function ensureTestDatabase(): Promise<TestDatabase>;

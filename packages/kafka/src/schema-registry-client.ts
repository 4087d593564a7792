import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { ConnectionOptions } from 'node:tls';

/** Schema types of the Confluent registry API (`schemaType`; absent means AVRO). */
export type RegistrySchemaType = 'AVRO' | 'JSON' | 'PROTOBUF';

export interface RegisteredSchema {
  readonly id: number;
  readonly schema: string;
  readonly schemaType: RegistrySchemaType;
}

export interface SchemaRegistryClientOptions {
  /** Base URL of the Confluent-compatible API, e.g. `http://registry:8081` or Apicurio's `…/apis/ccompat/v7`. */
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  /** TLS options for an https URL (CA, client certificate, verification). */
  readonly tls?: ConnectionOptions;
  readonly timeoutMs: number;
}

/** A registry answer is a small JSON document: anything larger is refused rather than buffered. */
const MAX_ANSWER_BYTES = 1024 * 1024;
const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/**
 * A failed registry call. `retriable` when asking again may succeed (no connection, a timeout, a 5xx,
 * 408, 429); otherwise the registry refused the request itself (unknown subject, incompatible schema,
 * bad credentials) and the operator has to act. The message names the URL without credentials.
 */
export class SchemaRegistryError extends Error {
  constructor(message: string, readonly retriable: boolean, readonly status?: number) {
    super(message);
    this.name = 'SchemaRegistryError';
  }
}

/**
 * The part of the Confluent Schema Registry REST API a producer needs: register a schema under a subject
 * (POST /subjects/{subject}/versions, which answers the existing id when the schema is already there),
 * read a subject's latest version, and read a schema by id. Node's http(s) directly, so TLS takes the same
 * options as the Kafka connection. Credentials go in an Authorization header, never into messages.
 */
export class SchemaRegistryClient {
  private readonly base: URL;
  private readonly authorization: string | undefined;

  constructor(private readonly options: SchemaRegistryClientOptions) {
    this.base = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
    this.authorization = options.username === undefined
      ? undefined
      : `Basic ${Buffer.from(`${options.username}:${options.password ?? ''}`).toString('base64')}`;
  }

  /** The URL as messages show it: the configured one (the config refuses credentials inside it). */
  get url(): string {
    return this.options.url;
  }

  /** Registers `schema` under `subject` (or finds it there) and returns its global id. */
  async register(subject: string, schema: string, schemaType: RegistrySchemaType): Promise<number> {
    // AVRO is the API's default and older registries reject the field: sent only for other types
    const body = schemaType === 'AVRO' ? { schema } : { schema, schemaType };
    const answer = await this.call('POST', `subjects/${encodeURIComponent(subject)}/versions`, body, `registering the schema under subject "${subject}"`);
    return schemaId(answer, `the answer to registering under subject "${subject}"`, this.url);
  }

  /** The latest version of `subject`: its id, schema text and type. */
  async latest(subject: string): Promise<RegisteredSchema> {
    const what = `reading the latest schema of subject "${subject}"`;
    const answer = await this.call('GET', `subjects/${encodeURIComponent(subject)}/versions/latest`, undefined, what);
    return registeredSchema(answer, schemaId(answer, `the answer to ${what}`, this.url), what, this.url);
  }

  /** The schema with global id `id` (what a consumer of the wire format asks). */
  async byId(id: number): Promise<RegisteredSchema> {
    const what = `reading schema id ${id}`;
    return registeredSchema(await this.call('GET', `schemas/ids/${id}`, undefined, what), id, what, this.url);
  }

  /** GET /subjects: a cheap call that checks address, TLS and credentials (the connection test). */
  async subjects(): Promise<readonly string[]> {
    const answer = await this.call('GET', 'subjects', undefined, 'listing subjects');
    if (!Array.isArray(answer)) throw new SchemaRegistryError(`schema registry ${this.url} answered listing subjects with something other than a list`, false);
    return answer.filter((item): item is string => typeof item === 'string');
  }

  private call(method: 'GET' | 'POST', path: string, body: unknown, what: string): Promise<unknown> {
    const target = new URL(path, this.base);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { accept: `${CONTENT_TYPE}, application/json` };
    if (payload !== undefined) {
      headers['content-type'] = CONTENT_TYPE;
      headers['content-length'] = String(payload.length);
    }
    if (this.authorization !== undefined) headers['authorization'] = this.authorization;
    const https = target.protocol === 'https:';
    const options: RequestOptions = { method, headers, ...(https ? this.options.tls : {}) };
    const where = `schema registry ${this.url}`;
    return new Promise<unknown>((resolveCall, rejectCall) => {
      const resolve = (answer: unknown): void => {
        clearTimeout(deadline);
        resolveCall(answer);
      };
      const reject = (error: Error): void => {
        clearTimeout(deadline);
        rejectCall(error);
      };
      const req = (https ? httpsRequest : httpRequest)(target, options, (res) => {
        res.on('error', () => {}); // a deadline that destroys the request also errors its answer: readAnswer reports it
        readAnswer(res, where, what).then(resolve, reject);
      });
      // One deadline for the whole call (connect, request, the complete answer): a socket timeout only fires
      // on an idle socket, and a registry or proxy trickling a byte every few seconds would hold the call open.
      const deadline = this.options.timeoutMs > 0
        ? setTimeout(() => {
          const late = new SchemaRegistryError(`${where}: no complete answer within ${this.options.timeoutMs} ms while ${what}`, true);
          reject(late);
          req.destroy(late);
        }, this.options.timeoutMs)
        : undefined;
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (error instanceof SchemaRegistryError) reject(error);
        else reject(new SchemaRegistryError(`${where} cannot be reached while ${what}: ${error.code ?? error.message}`, true));
      });
      req.end(payload);
    });
  }
}

function readAnswer(res: IncomingMessage, where: string, what: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_ANSWER_BYTES) {
        res.destroy();
        reject(new SchemaRegistryError(`${where} answered ${what} with more than ${MAX_ANSWER_BYTES} bytes`, false));
        return;
      }
      chunks.push(chunk);
    });
    res.on('error', (error) => reject(new SchemaRegistryError(`${where} broke off its answer while ${what}: ${error.message}`, true)));
    res.on('end', () => {
      const status = res.statusCode ?? 0;
      const text = Buffer.concat(chunks).toString('utf8');
      let parsed: unknown;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (status >= 200 && status < 300) {
        if (parsed === undefined) reject(new SchemaRegistryError(`${where} answered ${what} with HTTP ${status} but no JSON`, false));
        else resolve(parsed);
        return;
      }
      const retriable = status >= 500 || status === 408 || status === 429;
      reject(new SchemaRegistryError(`${where} refused ${what}: HTTP ${status}${registryMessage(parsed)}${hint(status)}`, retriable, status));
    });
  });
}

/** The registry's own words ({ error_code, message }), cut short: they may quote our request back. */
function registryMessage(parsed: unknown): string {
  if (typeof parsed !== 'object' || parsed === null) return '';
  const { error_code: code, message } = parsed as { error_code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message.slice(0, 300) : '';
  const prefix = typeof code === 'number' ? ` (error ${code})` : '';
  return text === '' ? prefix : `${prefix} ${text}`;
}

function hint(status: number): string {
  if (status === 401 || status === 403) return '; check schemaRegistry.authentication of the connector';
  if (status === 404) return '; the subject has no schema yet: register one, or give valueSchema.schema so Sluice registers it';
  if (status === 409) return '; the schema is not compatible with the subject\'s earlier versions under its compatibility rule';
  if (status === 422) return '; the registry finds the schema invalid';
  return '';
}

function schemaId(answer: unknown, what: string, url: string): number {
  const id = typeof answer === 'object' && answer !== null ? (answer as { id?: unknown }).id : undefined;
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0x7fffffff) {
    throw new SchemaRegistryError(`schema registry ${url}: ${what} has no schema id that fits 4 bytes`, false);
  }
  return id;
}

function registeredSchema(answer: unknown, id: number, what: string, url: string): RegisteredSchema {
  const { schema, schemaType } = (typeof answer === 'object' && answer !== null ? answer : {}) as { schema?: unknown; schemaType?: unknown };
  if (typeof schema !== 'string') throw new SchemaRegistryError(`schema registry ${url}: the answer to ${what} holds no schema text`, false);
  const type = schemaType === undefined ? 'AVRO' : schemaType;
  if (type !== 'AVRO' && type !== 'JSON' && type !== 'PROTOBUF') {
    throw new SchemaRegistryError(`schema registry ${url}: the answer to ${what} has an unknown schemaType`, false);
  }
  return { id, schema, schemaType: type };
}

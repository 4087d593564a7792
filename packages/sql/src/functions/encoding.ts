import { createHash, getHashes } from 'node:crypto';
import { deflateRawSync, deflateSync, gunzipSync, gzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import { JsonLimitError, decodeJson, encodeJson } from '../json';
import { checkStringSize, limitError } from '../limits';
import type { SqlValue } from '../values';
import { bytes, bytesValue, fnError, text, type FunctionDef } from './args';
import { limitsOf } from './state';
import type { FunctionContext } from './types';

/** Hashing, compression and encodings (RULE-SQL.md §8.7). */

// Erlang crypto algorithm names → Node's, with Erlang's default output length for the SHAKE functions.
const HASHES: Readonly<Record<string, { readonly node: string; readonly outputLength?: number }>> = {
  md4: { node: 'md4' },
  md5: { node: 'md5' },
  sha: { node: 'sha1' },
  sha1: { node: 'sha1' },
  sha224: { node: 'sha224' },
  sha256: { node: 'sha256' },
  sha384: { node: 'sha384' },
  sha512: { node: 'sha512' },
  sha512_224: { node: 'sha512-224' },
  sha512_256: { node: 'sha512-256' },
  sha3_224: { node: 'sha3-224' },
  sha3_256: { node: 'sha3-256' },
  sha3_384: { node: 'sha3-384' },
  sha3_512: { node: 'sha3-512' },
  shake128: { node: 'shake128', outputLength: 16 },
  shake256: { node: 'shake256', outputLength: 32 },
  blake2b: { node: 'blake2b512' },
  blake2s: { node: 'blake2s256' },
  ripemd160: { node: 'ripemd160' },
  sm3: { node: 'sm3' },
};

let available: Set<string> | undefined;

export function hashHex(name: string, algorithm: string, data: Buffer): string {
  const spec = Object.prototype.hasOwnProperty.call(HASHES, algorithm) ? HASHES[algorithm] : undefined;
  available ??= new Set(getHashes().map((h) => h.toLowerCase()));
  if (spec === undefined || !available.has(spec.node)) throw fnError(name, `unknown hash algorithm '${algorithm}'`);
  const options = spec.outputLength === undefined ? undefined : { outputLength: spec.outputLength };
  return createHash(spec.node, options).update(data).digest('hex');
}

function digest(name: string, algorithm: string): FunctionDef {
  return [name, 1, 1, (args) => hashHex(name, algorithm, bytes(name, 1, args[0]))];
}

type Zlib = (data: Buffer, options: { maxOutputLength: number }) => Buffer;

/**
 * A zlib built-in. Decompression stops at maxInflateSize (zlib's maxOutputLength), so a small bomb (a
 * 510 KB payload inflating to 500 MB) costs at most that much before it fails; compression output is
 * bounded by maxStringSize (it exceeds its input only by a few bytes).
 */
function zlibFunction(name: string, run: Zlib, output: 'bytes' | 'value'): FunctionDef {
  const inflates = output === 'value';
  return [
    name,
    1,
    1,
    (args, ctx) => {
      const limits = limitsOf(ctx);
      const max = inflates ? limits.maxInflateSize : limits.maxStringSize;
      let out: Buffer;
      try {
        out = run(bytes(name, 1, args[0]), { maxOutputLength: max });
      } catch (error) {
        if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
          throw limitError(name, 'output size', max + 1, max, inflates ? 'maxInflateSize' : 'maxStringSize');
        }
        throw fnError(name, `the data is not valid (${(error as Error).message})`);
      }
      return inflates ? bytesValue(out) : out;
    },
  ];
}

const BASE64_OPTIONS = ['no_padding', 'urlsafe'];

function base64Options(name: string, args: readonly SqlValue[]): { padding: boolean; urlsafe: boolean } {
  const opts = { padding: true, urlsafe: false };
  for (let i = 1; i < args.length; i++) {
    const o = text(name, i + 1, args[i]);
    // Unknown options are ignored, as EMQX does.
    if (o === BASE64_OPTIONS[0]) opts.padding = false;
    else if (o === BASE64_OPTIONS[1]) opts.urlsafe = true;
  }
  return opts;
}

function base64Encode(args: readonly SqlValue[], ctx: FunctionContext): SqlValue {
  const data = bytes('base64_encode', 1, args[0]);
  checkStringSize('base64_encode', Math.ceil(data.length / 3) * 4, limitsOf(ctx));
  const { padding, urlsafe } = base64Options('base64_encode', args);
  let out = data.toString(urlsafe ? 'base64url' : 'base64');
  if (urlsafe && padding) out += '='.repeat((4 - (out.length % 4)) % 4);
  if (!urlsafe && !padding) out = out.replace(/=+$/, '');
  return out;
}

const STANDARD = /^[A-Za-z0-9+/]*$/;
const URLSAFE = /^[A-Za-z0-9\-_]*$/;

/** Strict like Erlang's base64:decode: only the alphabet, padding required unless 'no_padding'. */
function base64Decode(args: readonly SqlValue[]): SqlValue {
  const input = text('base64_decode', 1, args[0]).replace(/[ \t\r\n]/g, '');
  const { padding, urlsafe } = base64Options('base64_decode', args);
  const body = input.replace(/={1,2}$/, '');
  const padded = body.length !== input.length;
  const valid =
    (urlsafe ? URLSAFE : STANDARD).test(body) &&
    body.length % 4 !== 1 &&
    (padded ? input.length % 4 === 0 : padding ? body.length % 4 === 0 : true);
  if (!valid) throw fnError('base64_decode', 'argument 1 is not valid base64');
  return bytesValue(Buffer.from(body, urlsafe ? 'base64url' : 'base64'));
}

function unsupported(name: string, why: string): FunctionDef {
  return [
    name,
    0,
    Infinity,
    () => {
      throw fnError(name, `${name} is not supported: ${why}`);
    },
  ];
}

export const ENCODING_FUNCTIONS: readonly FunctionDef[] = [
  digest('md5', 'md5'),
  digest('sha', 'sha'),
  digest('sha256', 'sha256'),
  ['hash', 2, 2, (args) => hashHex('hash', text('hash', 1, args[0]), bytes('hash', 2, args[1]))],
  zlibFunction('gzip', gzipSync, 'bytes'),
  zlibFunction('gunzip', gunzipSync, 'value'),
  zlibFunction('zip', deflateRawSync, 'bytes'),
  zlibFunction('unzip', inflateRawSync, 'value'),
  zlibFunction('zip_compress', deflateSync, 'bytes'),
  zlibFunction('zip_uncompress', inflateSync, 'value'),
  ['base64_encode', 1, 3, base64Encode],
  ['base64_decode', 1, 3, base64Decode],
  [
    'json_encode',
    1,
    1,
    (args, ctx) => {
      // The encoder stops as soon as the text would pass the limit (a list of one big string repeated).
      return encodeJson(args[0], limitsOf(ctx).maxStringSize, 'function json_encode()');
    },
  ],
  [
    'json_decode',
    1,
    1,
    (args) => {
      const s = text('json_decode', 1, args[0]);
      try {
        return decodeJson(s);
      } catch (error) {
        throw fnError('json_decode', `argument 1 ${error instanceof JsonLimitError ? `is ${error.message}` : 'is not valid JSON'}`);
      }
    },
  ],
  unsupported('term_encode', 'the Erlang external term format is specific to EMQX'),
  unsupported('term_decode', 'the Erlang external term format is specific to EMQX'),
];

import { describe, expect, it } from '@jest/globals';
import { HttpConfig } from './config-file';
import { checkContentType, checkHost, checkListenerExposure, checkRequestOrigin, decodePathSegment, isLoopbackHost, jsonNestsDeeperThan, resolveApiBufferDir } from './http-guards';

const local = { host: '127.0.0.1', port: 8081 };

describe(checkHost.name, () => {
  it('accepts IP addresses, localhost and the bound name; refuses other names with 421', () => {
    for (const host of ['127.0.0.1:8081', 'localhost:8081', 'LOCALHOST', '[::1]:8081', '192.168.1.9:8081', undefined]) {
      expect([host, checkHost(host === undefined ? {} : { host }, local)]).toEqual([host, undefined]);
    }
    expect(checkHost({ host: 'sluice.lan:8081' }, { host: 'sluice.lan', port: 8081 })).toBeUndefined();
    for (const host of ['attacker.example', 'attacker.example:8081', 'sluice.lan', '127.0.0.1.nip.io', 'a b', '']) {
      expect([host, checkHost({ host }, local)?.status]).toEqual([host, 421]);
    }
    expect(checkHost({ host: 'evil.example' }, { host: '0.0.0.0', port: 8081 })?.status).toBe(421);
  });
});

describe(checkRequestOrigin.name, () => {
  it('lets requests without browser headers through, and reads unless asked to check them', () => {
    expect(checkRequestOrigin({ origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' }, 'GET', local)).toBeUndefined();
    expect(checkRequestOrigin({}, 'POST', local)).toBeUndefined();
    expect(checkRequestOrigin({}, 'GET', local, { reads: true })).toBeUndefined();
  });

  it('refuses cross-site reads when asked to (the API\'s routes), and takes same-origin and typed-in ones', () => {
    for (const headers of [{ 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }, { origin: 'http://evil.example', host: '127.0.0.1:8081' }, { origin: 'null' }]) {
      for (const method of ['GET', 'HEAD', 'OPTIONS']) {
        expect([headers, method, checkRequestOrigin(headers, method, local, { reads: true })]).toEqual([headers, method, { status: 403, error: expect.stringMatching(/^cross-(site|origin) request refused/) }]);
      }
    }
    expect(checkRequestOrigin({ 'sec-fetch-site': 'same-origin', origin: 'http://127.0.0.1:8081', host: '127.0.0.1:8081' }, 'GET', local, { reads: true })).toBeUndefined();
    expect(checkRequestOrigin({ 'sec-fetch-site': 'none' }, 'GET', local, { reads: true })).toBeUndefined();
  });

  it('refuses cross-site writes by Sec-Fetch-Site or Origin, and takes same-origin ones', () => {
    for (const headers of [{ 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }, { origin: 'null' }, { origin: 'http://evil.example' },
      { origin: 'http://127.0.0.1:9999', host: '127.0.0.1:8081' }, { origin: 'file://', host: '127.0.0.1:8081' }]) {
      expect([headers, checkRequestOrigin(headers, 'PATCH', local)?.status]).toEqual([headers, 403]);
    }
    expect(checkRequestOrigin({ origin: 'http://127.0.0.1:8081', host: '127.0.0.1:8081', 'sec-fetch-site': 'same-origin' }, 'PUT', local)).toBeUndefined();
    expect(checkRequestOrigin({ origin: 'https://sluice.example.com', host: 'sluice.example.com' }, 'DELETE', local)).toBeUndefined();
  });
});

describe(checkContentType.name, () => {
  it('takes JSON bodies and empty writes, refuses other bodies with 415', () => {
    expect(checkContentType({}, 'POST')).toBeUndefined();
    expect(checkContentType({ 'content-type': 'application/json;charset=UTF-8', 'content-length': '2' }, 'PUT')).toBeUndefined();
    expect(checkContentType({ 'content-type': 'text/plain', 'content-length': '2' }, 'GET')).toBeUndefined();
    expect(checkContentType({}, 'PUT')?.status).toBe(415);
    expect(checkContentType({ 'content-type': 'text/plain' }, 'POST')?.status).toBe(415);
    expect(checkContentType({ 'content-length': '5' }, 'POST')?.status).toBe(415);
  });
});

describe('the listener rule', () => {
  it('treats only loopback addresses as local', () => {
    expect(['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]'].map(isLoopbackHost)).toEqual([true, true, true, true, true]);
    expect(['0.0.0.0', '::', '10.0.0.1', 'sluice.lan', '128.0.0.1'].map(isLoopbackHost)).toEqual([false, false, false, false, false]);
    expect(checkListenerExposure('0.0.0.0', 'x')).toBeUndefined();
  });

  it('is part of the config schema, so `sluice validate` refuses such a file with the fix', () => {
    const refused = HttpConfig.safeParse({ host: '0.0.0.0' });
    expect(refused.success).toBe(false);
    expect(refused.error?.issues).toEqual([expect.objectContaining({ path: ['token'], message: expect.stringContaining('bind host: 127.0.0.1') })]);
    expect(HttpConfig.safeParse({ host: '0.0.0.0', enabled: false }).success).toBe(true);
    expect(HttpConfig.safeParse({ host: '0.0.0.0', token: 'x', allowedHosts: ['sluice.example.com', 'proxy:8443'] }).success).toBe(true);
    expect(HttpConfig.safeParse({ allowedHosts: ['http://x/'] }).success).toBe(false);
  });
});

describe('paths', () => {
  it('decodes ids, undefined for malformed percent-encoding', () => {
    expect(decodePathSegment('a%2Fb')).toBe('a/b');
    expect(decodePathSegment('%E0%A4%A')).toBeUndefined();
  });

  it('measures JSON nesting without parsing, brackets in strings (escaped quotes too) not counted', () => {
    expect(jsonNestsDeeperThan('{"a":[{"b":[]}]}', 4)).toBe(false);
    expect(jsonNestsDeeperThan('{"a":[{"b":[]}]}', 3)).toBe(true);
    expect(jsonNestsDeeperThan('{"a":"[[[[\\"[[[["}', 1)).toBe(false);
    expect(jsonNestsDeeperThan('[]'.repeat(100), 1)).toBe(false);
  });

  it('keeps API buffer directories inside http.dataDir', () => {
    expect(resolveApiBufferDir('b', undefined)).toEqual({ error: expect.stringContaining('http.dataDir') });
    expect(resolveApiBufferDir('b', '/data')).toEqual({ dir: '/data/b' });
    expect(resolveApiBufferDir('/data/x/../b', '/data')).toEqual({ dir: '/data/b' });
    expect(resolveApiBufferDir('..foo', '/data')).toEqual({ dir: '/data/..foo' });
    for (const dir of ['..', '../x', '/etc', '/data2']) expect([dir, 'error' in resolveApiBufferDir(dir, '/data')]).toEqual([dir, true]);
  });
});

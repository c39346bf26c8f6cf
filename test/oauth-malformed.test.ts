/** Malformed input at every protocol endpoint: always an RFC-shaped 4xx, never a 5xx. */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic } from './helpers/http.js';
import { CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, startTestServer, type TestServer } from './helpers/oauth-server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

/** A raw request, so bodies and headers can be anything (invalid UTF-8 included). */
function raw(
  method: string,
  path: string,
  body: Buffer | string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const url = new URL(path, server.base);
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { 'content-length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(CLIENT_ID, CLIENT_SECRET) };

const cases: Array<[string, string, string, Buffer | string, Record<string, string>, number, string]> = [
  ['missing grant_type', 'POST', '/token', 'code=x', FORM, 400, 'invalid_request'],
  ['unknown grant type', 'POST', '/token', 'grant_type=password&username=a&password=b', FORM, 400, 'unsupported_grant_type'],
  ['prototype-looking grant type', 'POST', '/token', 'grant_type=__proto__', FORM, 400, 'unsupported_grant_type'],
  ['duplicated grant_type', 'POST', '/token', 'grant_type=refresh_token&grant_type=refresh_token&refresh_token=x', FORM, 400, 'invalid_request'],
  ['duplicated refresh_token', 'POST', '/token', 'grant_type=refresh_token&refresh_token=a&refresh_token=b', FORM, 400, 'invalid_request'],
  ['missing code', 'POST', '/token', 'grant_type=authorization_code&redirect_uri=x', FORM, 400, 'invalid_request'],
  ['missing refresh_token', 'POST', '/token', 'grant_type=refresh_token', FORM, 400, 'invalid_request'],
  ['JSON body', 'POST', '/token', '{"grant_type":"refresh_token"}', { ...FORM, 'content-type': 'application/json' }, 400, 'invalid_request'],
  ['no content type', 'POST', '/token', 'grant_type=refresh_token', { authorization: FORM.authorization }, 400, 'invalid_request'],
  ['multipart body', 'POST', '/token', '--x\r\n\r\n--x--', { ...FORM, 'content-type': 'multipart/form-data; boundary=x' }, 400, 'invalid_request'],
  [
    'Latin-1 charset',
    'POST',
    '/token',
    'grant_type=refresh_token',
    { ...FORM, 'content-type': 'application/x-www-form-urlencoded; charset=iso-8859-1' },
    400,
    'invalid_request',
  ],
  ['invalid UTF-8 (percent-encoded)', 'POST', '/token', 'grant_type=refresh_token&refresh_token=%FF%FE', FORM, 400, 'invalid_request'],
  [
    'invalid UTF-8 (raw bytes)',
    'POST',
    '/token',
    Buffer.concat([Buffer.from('grant_type=refresh_token&refresh_token='), Buffer.from([0xc3, 0x28])]),
    FORM,
    400,
    'invalid_request',
  ],
  ['control characters', 'POST', '/token', 'grant_type=refresh_token&refresh_token=a%00b', FORM, 400, 'invalid_request'],
  ['oversized body', 'POST', '/token', `grant_type=refresh_token&refresh_token=${'a'.repeat(20_000)}`, FORM, 413, 'invalid_request'],
  ['too many parameters', 'POST', '/token', Array.from({ length: 40 }, (_, i) => `p${i}=1`).join('&'), FORM, 413, 'invalid_request'],
  ['parameters in the URL', 'POST', '/token?grant_type=refresh_token', 'refresh_token=x', FORM, 400, 'invalid_request'],
  ['gzip body that is not gzip', 'POST', '/token', 'grant_type=x', { ...FORM, 'content-encoding': 'gzip' }, 400, 'invalid_request'],
  ['unknown content encoding', 'POST', '/token', 'grant_type=x', { ...FORM, 'content-encoding': 'br2' }, 415, 'invalid_request'],
  ['GET on the token endpoint', 'GET', '/token', '', {}, 405, 'invalid_request'],
  ['PUT on revoke', 'PUT', '/revoke', 'token=x', FORM, 405, 'invalid_request'],
  ['revoke without token', 'POST', '/revoke', 'token_type_hint=access_token', FORM, 400, 'invalid_request'],
  ['introspect without credentials', 'POST', '/introspect', 'token=x', { 'content-type': FORM['content-type'] }, 401, 'invalid_client'],
  [
    'Basic header with bad percent-encoding',
    'POST',
    '/token',
    'grant_type=refresh_token&refresh_token=x',
    { ...FORM, authorization: `Basic ${Buffer.from('%E0%A4%A:secret').toString('base64')}` },
    401,
    'invalid_client',
  ],
  [
    'Basic header that is not base64',
    'POST',
    '/token',
    'grant_type=refresh_token&refresh_token=x',
    { ...FORM, authorization: 'Basic ***' },
    401,
    'invalid_client',
  ],
  ['Bearer instead of Basic', 'POST', '/token', 'grant_type=refresh_token&refresh_token=x', { ...FORM, authorization: 'Bearer abc' }, 401, 'invalid_client'],
  ['unknown path', 'GET', '/admin', '', {}, 404, 'invalid_request'],
  ['path traversal to assets', 'GET', '/assets/..%2f..%2fpackage.json', '', {}, 403, 'invalid_request'],
  ['an asset that does not exist', 'GET', '/assets/nothing.css', '', {}, 404, 'invalid_request'],
];

describe('malformed requests', () => {
  it.each(cases)('%s → %i %s', async (_name, method, path, body, headers, status, error) => {
    const response = await raw(method, path, body, headers);
    expect(response.status).toBe(status);
    expect(response.headers['content-type']).toMatch(/application\/json/);
    expect(JSON.parse(response.body)).toMatchObject({ error });
    expect(typeof JSON.parse(response.body).error_description).toBe('string');
  });

  it.each([
    ['duplicated client_id', '/authorize?client_id=a&client_id=b&response_type=code', 400],
    ['no parameters at all', '/authorize', 400],
    ['non-UTF-8 in the query', `/authorize?client_id=${CLIENT_ID}%FF`, 400],
    ['a URL longer than Node accepts', `/authorize?client_id=${CLIENT_ID}&state=${'s'.repeat(20_000)}`, 431],
  ])('authorize with %s → a 4xx page, never a redirect', async (_name, path, status) => {
    const response = await raw('GET', path, '', {});
    expect(response.status).toBe(status);
    expect(response.headers.location).toBeUndefined();
  });

  it('a state longer than 2048 characters is refused and not echoed back', async () => {
    const redirect = encodeURIComponent(REDIRECT_URI);
    const response = await raw('GET', `/authorize?client_id=${CLIENT_ID}&redirect_uri=${redirect}&response_type=code&state=${'s'.repeat(3000)}`, '', {});
    expect(response.status).toBe(303);
    const target = new URL(String(response.headers.location));
    expect(target.searchParams.get('error')).toBe('invalid_request');
    expect(target.searchParams.has('state')).toBe(false);
  });

  it('the server is still healthy after all of it', async () => {
    expect((await raw('GET', '/healthz', '', {})).status).toBe(200);
    expect(server.lines.filter((line) => / ERROR /.test(line))).toEqual([]);
  });
});

/**
 * The protocol endpoints' form reader (src/http/form-body.ts), on a real loopback listener: what
 * it parses, and every way a body is refused with its 4xx, compressed bodies included.
 */
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { deflateSync, gzipSync } from 'node:zlib';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { formBody, parseForm } from '../src/http/form-body.js';

const LIMITS = { maxBytes: 1024, maxParameters: 4 };
let base: string;
let port: number;
const refusals: string[] = [];
let close: () => void;

beforeAll(async () => {
  const app = express();
  app.post('/form', formBody(LIMITS), (req, res) => {
    res.json({ body: req.body === undefined ? null : { ...req.body }, prototype: req.body === undefined ? null : Object.getPrototypeOf(req.body) === null });
  });
  app.use(((error, _req, res, _next) => {
    const { status, type } = error as { status: number; type: string };
    refusals.push(type);
    res.status(status).json({ status, type });
  }) as express.ErrorRequestHandler);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
  close = () => server.close();
});
afterAll(() => close());

function post(body: Buffer | string, headers: Record<string, string> = {}, chunked = false): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const length = chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(Buffer.byteLength(body)) };
    const req = request(`${base}/form`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...length, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> }));
    });
    req.on('error', reject);
    if (chunked) {
      // Several chunks, so the limit is counted as the body arrives, not from a header.
      const bytes = Buffer.from(body);
      for (let at = 0; at < bytes.length; at += 300) req.write(bytes.subarray(at, at + 300));
      req.end();
    } else req.end(body);
  });
}

describe('parseForm', () => {
  it('decodes names and values, + as a space, and an empty value', () => {
    expect({ ...parseForm(Buffer.from('grant_type=refresh_token&a+b=c%2Bd+e&empty=&bare'), 10) }).toEqual({
      grant_type: 'refresh_token',
      'a b': 'c+d e',
      empty: '',
      bare: '',
    });
  });

  it('keeps a repeated name as an array, for the parameter check to refuse', () => {
    expect({ ...parseForm(Buffer.from('x=1&x=2&x=3'), 10) }).toEqual({ x: ['1', '2', '3'] });
  });

  it('treats __proto__ and constructor as plain names', () => {
    const body = parseForm(Buffer.from('__proto__=a&constructor=b'), 10);
    expect(Object.getPrototypeOf(body)).toBeNull();
    expect(Object.getOwnPropertyDescriptor(body, '__proto__')?.value).toBe('a');
    expect(body.constructor).toBe('b');
  });

  it.each([
    ['bytes that are not UTF-8', Buffer.concat([Buffer.from('a='), Buffer.from([0xc3, 0x28])]), 400, 'form.not.utf8'],
    ['a percent-escape that is not UTF-8', Buffer.from('a=%FF'), 400, 'form.not.utf8'],
    ['a broken percent-escape', Buffer.from('a=%E0%A4%A'), 400, 'form.not.utf8'],
    ['more parameters than allowed', Buffer.from('a=1&b=2&c=3&d=4&e=5'), 413, 'parameters.too.many'],
  ])('refuses %s', (_name, bytes, status, type) => {
    expect(() => parseForm(bytes, 4)).toThrow(expect.objectContaining({ status, type }));
  });
});

describe('formBody over HTTP', () => {
  it('reads a form into a prototype-free body', async () => {
    expect(await post('a=1&b=%C3%A9')).toEqual({ status: 200, json: { body: { a: '1', b: 'é' }, prototype: true } });
  });

  it('leaves another media type unread', async () => {
    expect(await post('{"a":1}', { 'content-type': 'application/json' })).toEqual({ status: 200, json: { body: null, prototype: null } });
  });

  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
  ])('inflates a %s body', async (encoding, compress) => {
    expect(await post(compress(Buffer.from('a=1&b=2')), { 'content-encoding': encoding })).toMatchObject({ status: 200, json: { body: { a: '1', b: '2' } } });
  });

  it.each([
    ['a declared length over the limit', 'a='.padEnd(2000, 'x'), {}, false, 413, 'entity.too.large'],
    ['a chunked body over the limit', 'a='.padEnd(2000, 'x'), {}, true, 413, 'entity.too.large'],
    [
      'a compressed body that inflates past the limit',
      gzipSync(Buffer.from('a='.padEnd(100_000, 'x'))),
      { 'content-encoding': 'gzip' },
      false,
      413,
      'entity.too.large',
    ],
    ['a gzip body that is not gzip', 'a=1', { 'content-encoding': 'gzip' }, false, 400, 'encoding.invalid'],
    ['an unknown content encoding', 'a=1', { 'content-encoding': 'br2' }, false, 415, 'encoding.unsupported'],
    ['a charset other than UTF-8', 'a=1', { 'content-type': 'application/x-www-form-urlencoded; charset=iso-8859-1' }, false, 400, 'form.not.utf8'],
  ] as const)('refuses %s', async (_name, body, headers, chunked, status, type) => {
    expect(await post(body, headers, chunked)).toEqual({ status, json: { status, type } });
  });

  it('gives up on a client that goes away mid-body, and keeps serving', async () => {
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('POST /form HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\na=1&b=');
    await vi.waitFor(() => expect(socket.bytesWritten).toBeGreaterThan(0));
    socket.destroy();
    await vi.waitFor(() => expect(refusals).toContain('request.aborted'));
    expect((await post('a=1')).status).toBe(200);
  });

  it('accepts UTF-8 named in any spelling', async () => {
    expect((await post('a=1', { 'content-type': 'application/x-www-form-urlencoded; charset="UTF-8"' })).status).toBe(200);
  });
});

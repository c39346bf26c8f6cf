/**
 * The protocol endpoints' body reader: a small application/x-www-form-urlencoded body, read whole
 * and parsed in one pass. A token request is a few hundred bytes, so a general-purpose parser
 * (body-parser, raw-body, qs) costs more than the work it does. Errors carry a 4xx `status` and a
 * `type` (the names body-parser used), which oauth/http.ts turns into RFC 6749 error JSON.
 *
 * What it refuses: a body over `maxBytes` (413), more than `maxParameters` parameters (413), a
 * charset other than UTF-8 or bytes and percent-escapes that are not UTF-8 (400, RFC 6749
 * Appendix B), a content encoding other than gzip or deflate (415), a compressed body that does
 * not inflate (400). A repeated name becomes an array, which oauth/params.ts refuses.
 */
import type { IncomingMessage } from 'node:http';
import { gunzip, inflate } from 'node:zlib';
import type { ApiStep } from './api-request.js';

export interface FormLimits {
  maxBytes: number;
  maxParameters: number;
}

/** What the reader leaves in `req.body`: no prototype, so a name like `__proto__` is just a name. */
export type FormBody = Record<string, string | string[]>;

function refused(status: number, type: string, message: string): Error {
  return Object.assign(new Error(message), { status, type, expose: true });
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const FORM_TYPE = 'application/x-www-form-urlencoded';

/** The media type and charset of a Content-Type header, lower-cased; undefined parts absent. */
function contentType(header: string | undefined): { type: string; charset: string | undefined } {
  if (header === undefined) return { type: '', charset: undefined };
  const semicolon = header.indexOf(';');
  if (semicolon < 0) return { type: header.trim().toLowerCase(), charset: undefined };
  const charset = /;\s*charset\s*=\s*("?)([^";\s]+)\1/i.exec(header)?.[2]?.toLowerCase();
  return { type: header.slice(0, semicolon).trim().toLowerCase(), charset };
}

/** True when the request says it carries a form body (what `req.is(FORM_TYPE)` answers). */
export function isForm(req: IncomingMessage): boolean {
  return contentType(req.headers['content-type']).type === FORM_TYPE && hasBody(req);
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || req.headers['content-length'] !== undefined;
}

/** Parses UTF-8 form text; throws the reader's errors. */
export function parseForm(bytes: Buffer, maxParameters: number): FormBody {
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw refused(400, 'form.not.utf8', 'form body is not UTF-8');
  }
  const body: FormBody = Object.create(null) as FormBody;
  if (text === '') return body;
  let count = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('&', start);
    if (end < 0) end = text.length;
    if (end > start) {
      if (++count > maxParameters) throw refused(413, 'parameters.too.many', 'too many parameters');
      const equals = text.indexOf('=', start);
      const split = equals >= 0 && equals < end;
      const name = decode(text.slice(start, split ? equals : end));
      const value = split ? decode(text.slice(equals + 1, end)) : '';
      const earlier = body[name];
      body[name] = earlier === undefined ? value : Array.isArray(earlier) ? [...earlier, value] : [earlier, value];
    }
    start = end + 1;
  }
  return body;
}

function decode(part: string): string {
  const spaced = part.includes('+') ? part.replaceAll('+', ' ') : part;
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    throw refused(400, 'form.not.utf8', 'form body is not UTF-8');
  }
}

/** Reads the raw body, at most `maxBytes`; rejects with the reader's errors. */
function readRaw(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) return Promise.reject(refused(413, 'entity.too.large', 'request entity too large'));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        // The rest is not wanted; Node discards it once the answer is sent.
        req.pause();
        reject(refused(413, 'entity.too.large', 'request entity too large'));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    // A client that goes away mid-body: Node emits 'error' (ECONNRESET "aborted") on the request.
    const onError = (): void => {
      cleanup();
      reject(refused(400, 'request.aborted', 'request aborted'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** A compressed body, inflated to at most `maxBytes` (a small bomb is refused, not expanded). */
function inflated(encoding: string, bytes: Buffer, maxBytes: number): Promise<Buffer> {
  const method = encoding === 'deflate' ? inflate : gunzip;
  return new Promise((resolve, reject) => {
    method(bytes, { maxOutputLength: maxBytes }, (error, result) => {
      if (!error) resolve(result);
      else if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError)
        reject(refused(413, 'entity.too.large', 'request entity too large'));
      else reject(refused(400, 'encoding.invalid', 'the body does not match its content encoding'));
    });
  });
}

async function read(req: IncomingMessage, limits: FormLimits, charset: string | undefined): Promise<FormBody> {
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') throw refused(400, 'form.not.utf8', 'form body is not UTF-8');
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip' && encoding !== 'x-gzip' && encoding !== 'deflate') {
    throw refused(415, 'encoding.unsupported', 'unsupported content encoding');
  }
  let bytes = await readRaw(req, limits.maxBytes);
  if (encoding !== 'identity') bytes = await inflated(encoding, bytes, limits.maxBytes);
  return parseForm(bytes, limits.maxParameters);
}

/**
 * Middleware: fills `req.body` with the form, or leaves it undefined when the request is not a
 * form (oauth/params.ts then says what it must be). Reads once, so a limiter's exemption and the
 * handler can share it.
 */
export function formBody(limits: FormLimits): ApiStep {
  return (req, _res, next) => {
    if (req.body !== undefined) {
      next();
      return;
    }
    const { type, charset } = contentType(req.headers['content-type']);
    if (type !== FORM_TYPE || !hasBody(req)) {
      next();
      return;
    }
    read(req, limits, charset).then((body) => {
      req.body = body;
      next();
    }, next);
  };
}

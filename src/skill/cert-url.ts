/**
 * The SignatureCertChainUrl rules of Amazon's "Verify that the request was sent by Alexa": https,
 * host s3.amazonaws.com, path starting /echo.api/ (case-sensitive), port 443 if one is given,
 * all judged after normalisation, so `/echo.api/../x` is `/x` and refused.
 */

const HOST = 's3.amazonaws.com';
const PATH_PREFIX = '/echo.api/';

/** The normalised URL, or why it is refused. */
export function checkCertUrl(raw: string): { url: URL } | { problem: string } {
  if (raw.length > 2048) return { problem: 'the certificate URL is too long' };
  let url: URL;
  try {
    // WHATWG parsing lower-cases scheme and host, drops a default :443, and resolves dot segments
    // (also %2e%2e), which is the normalisation Amazon asks for.
    url = new URL(raw);
  } catch {
    return { problem: 'the certificate URL is not a URL' };
  }
  if (url.protocol !== 'https:') return { problem: 'the certificate URL is not https' };
  if (url.hostname !== HOST) return { problem: `the certificate URL's host is not ${HOST}` };
  // `port` is '' for the default port, so an explicit :443 is accepted and anything else is not.
  if (url.port !== '') return { problem: 'the certificate URL names a port other than 443' };
  if (!url.pathname.startsWith(PATH_PREFIX)) return { problem: `the certificate URL's path does not start with ${PATH_PREFIX}` };
  if (url.username || url.password || url.search || url.hash) return { problem: 'the certificate URL has a user, query or fragment' };
  return { url };
}

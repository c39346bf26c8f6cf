/**
 * Load runs with autocannon's programmatic API.
 *
 * Each connection gets its own request state through `setupClient`: the closure made there is the
 * connection's own (a refresh lineage, say). autocannon's per-connection `context` cannot hold it:
 * with a single entry in `requests`, the RequestIterator resets the context to `initialContext`
 * every time it wraps around, i.e. before every request, so a token stored by `onResponse` would be
 * gone by the next `setupRequest`.
 *
 * Latencies are recorded here from autocannon's `response` events (float milliseconds from
 * process.hrtime) rather than from its histogram, which is in whole milliseconds: p50 of a fast
 * endpoint is well under 1 ms. Only 2xx responses count toward latency; anything else is counted
 * by status and reported.
 */

import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import autocannon from 'autocannon';

export interface ConnectionScript {
  method: 'GET' | 'POST';
  path: string;
  /** Called before every request of this connection. */
  headers: () => Record<string, string>;
  body?: () => string;
  /** Called with every response of this connection, in order. */
  onResponse?: (status: number, body: string) => void;
}

export interface LoadSpec {
  url: string;
  connections: number;
  durationS: number;
  /** A connection's script; `index` is 0..connections-1 (a fresh set for the warm-up). */
  connection: (index: number) => ConnectionScript;
  /** Requests per second over all connections (paced load); unset: each connection sends again as soon as it is answered. */
  overallRate?: number | undefined;
}

export interface LoadResult {
  connections: number;
  durationS: number;
  requests: number;
  ok: number;
  non2xx: number;
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** One non-2xx body, to say what went wrong. */
  sampleError: string | undefined;
  /** CPU steal (the hypervisor running someone else) during the run, % of all CPU time; undefined if unknown. */
  stealPct?: number | undefined;
  /** Sorted latencies of the 2xx responses (ms); not written to results.json. */
  latencies?: Float64Array;
}

/** Cumulative CPU times from /proc/stat (jiffies): all, and steal. */
export function cpuTimes(): { total: number; steal: number } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return { total: fields.slice(0, 8).reduce((sum, value) => sum + value, 0), steal: fields[7] ?? 0 };
  } catch {
    return undefined;
  }
}

/** Several slices of one scenario as one result: latencies pooled, throughput over the summed duration. */
export function mergeResults(parts: LoadResult[]): LoadResult {
  const total = parts.reduce((sum, part) => sum + (part.latencies?.length ?? 0), 0);
  const pooled = new Float64Array(total);
  let offset = 0;
  for (const part of parts) {
    if (part.latencies) pooled.set(part.latencies, offset);
    offset += part.latencies?.length ?? 0;
  }
  pooled.sort();
  const sum = (pick: (part: LoadResult) => number): number => parts.reduce((acc, part) => acc + pick(part), 0);
  const statuses: Record<string, number> = {};
  for (const part of parts) for (const [code, n] of Object.entries(part.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
  const durationS = sum((part) => part.durationS);
  const steals = parts.map((part) => part.stealPct).filter((value): value is number => value !== undefined);
  return {
    connections: parts[0]!.connections,
    durationS,
    requests: sum((part) => part.requests),
    ok: sum((part) => part.ok),
    non2xx: sum((part) => part.non2xx),
    statuses,
    errors: sum((part) => part.errors),
    timeouts: sum((part) => part.timeouts),
    rps: sum((part) => part.ok) / durationS,
    p50: percentile(pooled, 50),
    p90: percentile(pooled, 90),
    p99: percentile(pooled, 99),
    max: percentile(pooled, 100),
    sampleError: parts.find((part) => part.sampleError)?.sampleError,
    stealPct: steals.length ? steals.reduce((a, b) => a + b, 0) / steals.length : undefined,
    latencies: pooled,
  };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** The latency percentiles of a run's sorted 2xx latencies, and the CPU steal between two readings. */
function spread(sorted: Float64Array, cpuBefore: ReturnType<typeof cpuTimes>, cpuAfter: ReturnType<typeof cpuTimes>) {
  return {
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: percentile(sorted, 100),
    stealPct:
      cpuBefore && cpuAfter && cpuAfter.total > cpuBefore.total ? (100 * (cpuAfter.steal - cpuBefore.steal)) / (cpuAfter.total - cpuBefore.total) : undefined,
    latencies: sorted,
  };
}

export async function load(spec: LoadSpec): Promise<LoadResult> {
  if (spec.overallRate) return pacedLoad(spec, spec.overallRate);
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  const statuses: Record<string, number> = {};
  let non2xx = 0;
  let sampleError: string | undefined;
  let next = 0;

  let finish!: (result: autocannon.Result) => void;
  let fail!: (error: unknown) => void;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const instance = autocannon(
    {
      url: spec.url,
      connections: spec.connections,
      duration: spec.durationS,
      ...(spec.overallRate ? { overallRate: spec.overallRate } : {}),
      pipelining: 1,
      timeout: 10,
      // autocannon stops on its sampling tick: 100 ms instead of 1 s keeps short runs short.
      sampleInt: 100,
      setupClient: (client) => {
        const script = spec.connection(next++);
        client.setRequests([
          {
            method: script.method,
            path: script.path,
            setupRequest: (request) => ({
              ...request,
              method: script.method,
              path: script.path,
              headers: script.headers(),
              ...(script.body ? { body: script.body() } : {}),
            }),
            onResponse: (status, body) => {
              if ((status < 200 || status > 299) && sampleError === undefined) sampleError = `${status} ${body.slice(0, 300)}`;
              script.onResponse?.(status, body);
            },
          },
        ]);
      },
    },
    (error, result) => (error ? fail(error) : finish(result)),
  );
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    if (statusCode < 200 || statusCode > 299) {
      non2xx++;
      return;
    }
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[count++] = responseTime;
  });
  const cpuBefore = cpuTimes();
  const result = await done;
  const cpuAfter = cpuTimes();
  const sorted = latencies.slice(0, count).sort();
  const requests = count + non2xx;
  return {
    connections: spec.connections,
    durationS: result.duration,
    requests,
    ok: count,
    non2xx,
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
    rps: count / result.duration,
    sampleError,
    ...spread(sorted, cpuBefore, cpuAfter),
  };
}

/** X-Forwarded-For values from the benchmarking range (RFC 2544: 198.18.0.0/15), round robin. */
export function forwardedFor(): () => string {
  let n = 0;
  return () => {
    const i = n++ % 4096;
    return `198.18.${i >> 8}.${i & 255}`;
  };
}

/**
 * Paced load: one request every 1/rate seconds, spread over the connections in turn (kept alive,
 * at most `connections` at once), for the duration. autocannon's own `overallRate` releases each
 * second's requests together, which measures bursts queueing, not a steady rate.
 */
async function pacedLoad(spec: LoadSpec, rate: number): Promise<LoadResult> {
  const url = new URL(spec.url);
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections });
  const scripts = Array.from({ length: spec.connections }, (_, i) => spec.connection(i));
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let non2xx = 0;
  let errors = 0;
  let sampleError: string | undefined;
  const inFlight = new Set<Promise<void>>();
  const send = (script: ConnectionScript): Promise<void> =>
    new Promise((resolve) => {
      const body = script.body?.();
      const started = performance.now();
      const req = request({ host: url.hostname, port: url.port, path: script.path, method: script.method, headers: script.headers(), agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (status >= 200 && status <= 299) latencies.push(performance.now() - started);
          else {
            non2xx++;
            sampleError ??= `${status} ${text.slice(0, 300)}`;
          }
          script.onResponse?.(status, text);
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
  const cpuBefore = cpuTimes();
  const start = performance.now();
  const end = start + spec.durationS * 1000;
  for (let k = 0; ; k++) {
    const due = start + (k * 1000) / rate;
    if (due >= end) break;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const sent = send(scripts[k % scripts.length]!).finally(() => inFlight.delete(sent));
    inFlight.add(sent);
  }
  await Promise.all(inFlight);
  const durationS = (performance.now() - start) / 1000;
  agent.destroy();
  const cpuAfter = cpuTimes();
  const sorted = Float64Array.from(latencies).sort();
  return {
    connections: spec.connections,
    durationS,
    requests: latencies.length + non2xx,
    ok: latencies.length,
    non2xx,
    statuses,
    errors,
    timeouts: 0,
    rps: latencies.length / durationS,
    sampleError,
    ...spread(sorted, cpuBefore, cpuAfter),
  };
}

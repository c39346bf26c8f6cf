/**
 * Child processes of the bench: spawn, wait for readiness, read RSS, stop. Every child is
 * remembered, and anything still running when the bench exits (normally or not) is killed by pid.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';

const children = new Set<ChildProcess>();

function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}
process.on('exit', killAll);

export { freePort } from '../../test/helpers/net.js';

export interface Child {
  process: ChildProcess;
  pid: number;
  /** performance.now() just before spawn(). */
  spawnedAt: number;
  output: () => string;
  /** Resolves with the first line of stdout that starts with `prefix` (rest of the line). */
  line: (prefix: string, timeoutMs?: number) => Promise<string>;
  stop: (timeoutMs?: number) => Promise<number | null>;
  /** Set by the caller when the process was started with the probe (bench/servers/probe.ts). */
  probed?: boolean;
}

export function start(args: string[], env: Record<string, string>): Child {
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not spawn node ${args.join(' ')}`);
  children.add(child);
  let output = '';
  const waiters: Array<() => void> = [];
  const onData = (chunk: Buffer): void => {
    output += chunk.toString();
    if (output.length > 1_000_000) output = output.slice(-500_000);
    for (const waiter of waiters.splice(0)) waiter();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      for (const waiter of waiters.splice(0)) waiter();
      resolve(code ?? (signal ? 128 : null));
    }),
  );
  return {
    process: child,
    pid: child.pid,
    spawnedAt,
    output: () => output,
    line: (prefix, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error(`timeout waiting for "${prefix}" from node ${args.join(' ')}:\n${output}`)), timeoutMs);
        const check = (): void => {
          const found = output.split('\n').find((line) => line.startsWith(prefix));
          if (found !== undefined && output.includes(`${found}\n`)) {
            clearTimeout(deadline);
            resolve(found.slice(prefix.length));
          } else if (child.exitCode !== null || child.signalCode !== null) {
            clearTimeout(deadline);
            reject(new Error(`node ${args.join(' ')} exited (${child.exitCode ?? child.signalCode}) before "${prefix}":\n${output}`));
          } else {
            waiters.push(check);
          }
        };
        check();
      }),
    stop: async (timeoutMs = 15_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** One GET over a fresh connection; resolves with the status, 0 when the connection failed. */
export function getStatus(url: string, timeoutMs = 1000): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** Polls `url` every 5 ms until it answers 200; returns ms since the child was spawned. */
export async function waitReady(child: Child, url: string, timeoutMs = 30_000): Promise<number> {
  for (;;) {
    if (child.process.exitCode !== null) throw new Error(`process exited before it was ready:\n${child.output()}`);
    if ((await getStatus(url, 500)) === 200) return performance.now() - child.spawnedAt;
    if (performance.now() - child.spawnedAt > timeoutMs) throw new Error(`not ready after ${timeoutMs} ms:\n${child.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** How long a server is left alone before its idle RSS is read. */
export const IDLE_SECONDS = 25;

/**
 * Idle RSS: read right away, then again after IDLE_SECONDS with nothing sent to the process.
 * V8's memory reducer gives back heap that start-up used in passes about 8 s and 16-20 s after
 * start (bare Express drops by 2-5 MiB at each); from about 20 s the reading stays flat for
 * minutes, so only a reading after that is the idle figure.
 */
export async function idleRssMiB(pid: number): Promise<{ idle: number; first: number }> {
  const first = rssMiB(pid);
  await sleep(IDLE_SECONDS * 1000);
  return { idle: rssMiB(pid), first };
}

/** Resident set size of a process, in MiB, from /proc/<pid>/status (VmRSS). */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) / 1024;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

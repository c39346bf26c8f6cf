/** The server as a real separate process (`node dist/main.js`), as `npm start` and run.sh run it. */
import { type ChildProcess, spawn } from 'node:child_process';

export const MAIN = new URL('../../dist/main.js', import.meta.url).pathname;

/**
 * The V8 settings the server runs with: run.sh and `npm start` pass the same flags (checked in
 * test/addon-config.test.ts). Without the heap sizes the young generation's default differs by
 * Node.js version (up to 2 x 64 MiB on Node 24 vs 2 x 16 MiB on Node 20) and the RSS with it;
 * `--optimize-for-size` is left out: it cost a quarter of the throughput for 5-6 MiB (docs/development.md, "Memory").
 */
export const SERVER_NODE_FLAGS = ['--v8-pool-size=1', '--max-semi-space-size=4', '--max-old-space-size=128'];

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  /** Sends the signal and resolves with the exit code. */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

export function runToExit(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, MAIN], {
      env: { PATH: process.env.PATH ?? '', INGRESS_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts the server on a free loopback port and resolves once it listens. */
export function startServer(env: Record<string, string>): Promise<ServerProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, MAIN], {
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PUBLIC_PORT: '0', INGRESS_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /Public listener on (https?:\/\/[^\s]+)/.exec(output);
      if (match) {
        resolve({
          child,
          url: match[1]!,
          output: () => output,
          stop: (signal = 'SIGTERM') => {
            child.kill(signal);
            return exited;
          },
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => reject(new Error(`server exited with ${code} before listening:\n${output}`)));
  });
}

/** Races N processes on one operation: all open the database first, then start on one signal. */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const WORKER = new URL('./race-worker.mjs', import.meta.url).pathname;

/** `args` are the worker's arguments, the same for every racer or per racer (by index). */
export async function race(count: number, args: string[] | ((racer: number) => string[])): Promise<string[]> {
  const argsOf = typeof args === 'function' ? args : () => args;
  const children = Array.from({ length: count }, (_, racer) => spawn(process.execPath, [WORKER, ...argsOf(racer)], { stdio: ['pipe', 'pipe', 'inherit'] }));
  const outputs = children.map((child) => {
    const lines = createInterface({ input: child.stdout });
    const all: string[] = [];
    const ready = new Promise<void>((resolve) => lines.on('line', (line) => (line === 'ready' ? resolve() : all.push(line))));
    const done = new Promise<string>((resolve, reject) =>
      child.on('exit', (code) =>
        code === 0 ? resolve((JSON.parse(all[0] ?? '{}') as { outcome: string }).outcome) : reject(new Error(`racer exited ${code}`)),
      ),
    );
    return { ready, done };
  });
  await Promise.all(outputs.map((output) => output.ready));
  for (const child of children) child.stdin.end('go\n');
  return Promise.all(outputs.map((output) => output.done));
}

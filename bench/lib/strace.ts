/**
 * fsync calls of a running server, counted by strace attached to it for the duration of one load
 * run: `strace -f -c -e trace=fsync,fdatasync -p <pid>` (-f with -p attaches every thread of the
 * process), detached with SIGINT, its summary table parsed. Attached with ptrace, strace stops the
 * process at every system call (only the filtered ones are counted), so the process runs slower
 * while it is traced: the bench counts fsyncs in separate runs and takes no throughput from them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

export const STRACE = '/usr/bin/strace';

export interface StraceCount {
  fsync: number;
  fdatasync: number;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) if (child.exitCode === null && child.pid !== undefined) child.kill('SIGKILL');
});

/**
 * Whether strace can attach here (ptrace may be forbidden, e.g. in a container without
 * CAP_SYS_PTRACE or under Yama): attaches to a child of our own that fsyncs every 10 ms, as the
 * bench attaches to its servers. The reason when it cannot.
 */
export async function straceAvailable(): Promise<{ ok: true } | { ok: false; reason: string }> {
  if (!existsSync(STRACE)) return { ok: false, reason: `${STRACE} is missing` };
  const script = 'const fs = require("node:fs"); const fd = fs.openSync(process.argv[1], "w"); setInterval(() => fs.fsyncSync(fd), 10);';
  const target = spawn(process.execPath, ['-e', script, `${tmpdir()}/alexa-link-bench-strace-check-${process.pid}`], { stdio: 'ignore' });
  running.add(target);
  try {
    const { counts } = await countFsyncs(target.pid!, () => new Promise((resolve) => setTimeout(resolve, 300)));
    return counts.fsync > 0 ? { ok: true } : { ok: false, reason: 'strace attached but counted no fsync of a process that made some' };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    target.kill('SIGKILL');
    running.delete(target);
    rmSync(`${tmpdir()}/alexa-link-bench-strace-check-${process.pid}`, { force: true });
  }
}

/** Counts fsync and fdatasync calls of `pid` (all its threads) while `during` runs. */
export async function countFsyncs<T>(pid: number, during: () => Promise<T>): Promise<{ counts: StraceCount; value: T }> {
  const child = spawn(STRACE, ['-f', '-c', '-e', 'trace=fsync,fdatasync', '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const attached = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (/attached/.test(stderr)) resolve();
    });
    void exited.then(() => reject(new Error(`strace exited before attaching: ${stderr.trim()}`)));
  });
  let value: T;
  try {
    await attached;
    value = await during();
  } finally {
    child.kill('SIGINT');
    await exited;
    running.delete(child);
  }
  // The summary's rows: % time, seconds, usecs/call, calls, [errors], syscall.
  const calls = (name: string): number => {
    const fields = stderr
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .find((row) => row.length >= 5 && row[row.length - 1] === name && /^[\d.]+$/.test(row[0]!));
    return fields ? Number(fields[3]) : 0;
  };
  return { counts: { fsync: calls('fsync'), fdatasync: calls('fdatasync') }, value };
}

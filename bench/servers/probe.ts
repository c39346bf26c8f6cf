/**
 * Preloaded into some servers under test (never in production):
 *   node --expose-gc --import dist-bench/bench/servers/probe.js dist/main.js
 * (without --expose-gc it forces no GC; the commit counts work either way).
 * It counts the group commits of the store (src/store/group-commit.ts) by wrapping two methods of
 * that module, the same module instance the server loads. On SIGUSR2 it forces a full garbage
 * collection and prints one line
 *   PROBE {"rss":…,"heapUsed":…,"heapTotal":…,"external":…,"forced":…,"groupCommit":{"writes":…,"commits":…,"sizes":[[size,count],…]}}
 * (bytes; commit counts since start). On SIGWINCH it prints only the counts, without a GC:
 *   COUNTS {"writes":…,"commits":…}
 * (the bench reads them around each load run). Otherwise it does nothing: no timer, no hook. The memory part
 * tells a leak (heap still growing after a forced GC) from V8 merely keeping a larger heap under
 * load; the commit part shows how many token writes shared each fsync.
 */
import type * as GroupCommitModule from '../../src/store/group-commit.js';

const { GroupCommit } = (await import(new URL('../../../dist/store/group-commit.js', import.meta.url).href)) as typeof GroupCommitModule;

/** The two private fields the counting needs to see (TypeScript privacy is compile-time only). */
interface Internals {
  members: unknown[] | undefined;
  running: boolean;
}

const counts = { writes: 0, commits: 0, sizes: new Map<number, number>() };
const proto = GroupCommit.prototype;
const run = proto.run;
const settle = proto.settle;
proto.run = function <T>(this: GroupCommitModule.GroupCommit, fn: () => T): Promise<T> {
  counts.writes++;
  return run.call(this, fn) as Promise<T>;
};
proto.settle = function (this: GroupCommitModule.GroupCommit): void {
  const self = this as unknown as Internals;
  const size = self.running ? undefined : self.members?.length;
  settle.call(this);
  if (size !== undefined && self.members === undefined) {
    counts.commits++;
    counts.sizes.set(size, (counts.sizes.get(size) ?? 0) + 1);
  }
};

process.on('SIGUSR2', () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
  const groupCommit = { writes: counts.writes, commits: counts.commits, sizes: [...counts.sizes].sort((a, b) => a[0] - b[0]) };
  process.stdout.write(`PROBE ${JSON.stringify({ rss, heapUsed, heapTotal, external, forced: gc !== undefined, groupCommit })}\n`);
});

process.on('SIGWINCH', () => {
  process.stdout.write(`COUNTS ${JSON.stringify({ writes: counts.writes, commits: counts.commits })}\n`);
});

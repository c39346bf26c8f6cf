/**
 * Preloaded into the server under test for the memory figures only:
 *   node --expose-gc --import dist-bench/bench/servers/gc-probe.js dist/main.js
 * On SIGUSR2 it forces a full garbage collection and prints one line
 * `GCPROBE {"rss":…,"heapUsed":…,"heapTotal":…,"external":…}` (bytes) on stdout. Otherwise it does
 * nothing: no timer, no hook. It tells a leak (heap still growing after a forced GC) from V8 merely
 * keeping a larger heap under load (RSS high, heap after GC flat).
 */
process.on('SIGUSR2', () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
  process.stdout.write(`GCPROBE ${JSON.stringify({ rss, heapUsed, heapTotal, external, forced: gc !== undefined })}\n`);
});

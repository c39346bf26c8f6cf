/**
 * Idle RSS only: three fresh servers and three bare Express apps, started together, read after
 * IDLE_SECONDS, as the footprint section of `npm run bench` does. Runs under whichever node runs
 * it, so the image's Node 24 can be checked too (better-sqlite3 built for it):
 *
 *   npm run build && npx tsc -p bench/tsconfig.json && <node> dist-bench/bench/idle-rss.js
 *
 * With `--max-ratio <r>` it is CI's memory guard (.ci/run): it exits 1, naming both medians and
 * their ratio, when the server's median is more than r times bare Express's. Both are measured in
 * the same run, side by side, so the machine's load weighs on both alike.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVER_NODE_FLAGS } from '../test/helpers/server-process.js';
import { freePort, IDLE_SECONDS, idleRssMiB, median, start, waitReady } from './lib/procs.js';
import { generateFernetKey, writeOptions } from './lib/seed.js';

/** `--max-ratio 1.15` or `--max-ratio=1.15`; undefined without it. */
function maxRatio(args: string[]): number | undefined {
  const at = args.findIndex((arg) => arg === '--max-ratio' || arg.startsWith('--max-ratio='));
  if (at === -1) return undefined;
  const text = args[at]!.includes('=') ? args[at]!.slice('--max-ratio='.length) : args[at + 1];
  const value = Number(text);
  if (!text || !Number.isFinite(value) || value <= 0) throw new Error(`--max-ratio needs a positive number, got ${JSON.stringify(text)}`);
  return value;
}

const limit = maxRatio(process.argv.slice(2));
const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const EXPRESS = fileURLToPath(new URL('./servers/express-baseline.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'alexa-link-idle-'));

async function ours(i: number) {
  const dataDir = mkdtempSync(join(root, `ours-${i}-`));
  const port = await freePort();
  writeOptions(dataDir, port, generateFernetKey());
  const child = start([...SERVER_NODE_FLAGS, MAIN], {
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PUBLIC_PORT: String(port),
    INGRESS_PORT: String(await freePort()),
    INGRESS_TRUSTED_PROXIES: '127.0.0.1',
  });
  await waitReady(child, `http://127.0.0.1:${port}/healthz`);
  return child;
}

async function express() {
  const port = await freePort();
  const child = start([EXPRESS], { PORT: String(port) });
  await waitReady(child, `http://127.0.0.1:${port}/healthz`);
  return child;
}

const servers = await Promise.all([0, 1, 2].map(ours));
const baselines = await Promise.all([0, 1, 2].map(express));
const readings = await Promise.all([...servers, ...baselines].map((child) => idleRssMiB(child.pid)));
const oursIdle = readings.slice(0, 3).map((reading) => reading.idle);
const expressIdle = readings.slice(3).map((reading) => reading.idle);
await Promise.all([...servers, ...baselines].map((child) => child.stop()));
rmSync(root, { recursive: true, force: true });
const show = (values: number[]): string => values.map((value) => value.toFixed(1)).join(', ');
const ratio = median(oursIdle) / median(expressIdle);
const medians = `medians ${median(oursIdle).toFixed(1)} vs ${median(expressIdle).toFixed(1)} MiB = ${ratio.toFixed(2)}×`;
process.stdout.write(
  `${process.version}, ${SERVER_NODE_FLAGS.join(' ')}, read ${IDLE_SECONDS} s after ready\n` +
    `alexa-link ${show(oursIdle)} MiB; express ${show(expressIdle)} MiB; ${medians}\n`,
);
if (limit !== undefined) {
  if (ratio > limit) {
    process.stderr.write(
      `Idle RSS too high on ${process.version}: alexa-link median ${median(oursIdle).toFixed(1)} MiB vs bare Express ${median(expressIdle).toFixed(1)} MiB ` +
        `= ${ratio.toFixed(3)}×, above the limit of ${limit}×. See docs/development.md, "Memory", for what must stay out of start-up.\n`,
    );
    process.exitCode = 1;
  } else {
    process.stdout.write(`idle RSS within the limit: ${ratio.toFixed(3)}× ≤ ${limit}×\n`);
  }
}

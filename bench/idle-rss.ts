/**
 * Idle RSS only: three fresh servers and three bare Express apps, started together, read after
 * IDLE_SECONDS, as the footprint section of `npm run bench` does. Runs under whichever node runs
 * it, so the image's Node 24 can be checked too (better-sqlite3 built for it):
 *
 *   npm run build && npx tsc -p bench/tsconfig.json && <node> dist-bench/bench/idle-rss.js
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVER_NODE_FLAGS } from '../test/helpers/server-process.js';
import { freePort, IDLE_SECONDS, idleRssMiB, median, start, waitReady } from './lib/procs.js';
import { generateFernetKey, writeOptions } from './lib/seed.js';

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
process.stdout.write(
  `${process.version}, ${SERVER_NODE_FLAGS.join(' ')}, read ${IDLE_SECONDS} s after ready\n` +
    `alexa-link ${show(oursIdle)} MiB; express ${show(expressIdle)} MiB; medians ${median(oursIdle).toFixed(1)} vs ${median(expressIdle).toFixed(1)} MiB = ${(median(oursIdle) / median(expressIdle)).toFixed(2)}×\n`,
);

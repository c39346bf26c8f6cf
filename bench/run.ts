/**
 * `npm run bench`: the server's throughput, latency, start-up time, memory and database growth,
 * each next to baselines measured in the same run on the same machine (see docs/benchmarks.md,
 * which this writes). Loopback only; every child process is stopped before it exits.
 *
 * BENCH_DURATION (measured seconds per row, taken in 4 round-robin slices; default 8) and
 * BENCH_QUICK=1 (2 s per row, 30-day year) exist for working on the bench itself; the documented
 * figures come from the defaults. `--report-only` re-renders the doc from dist-bench/results.json.
 * BENCH_ONLY=skill runs only the skill guard's rows (measureSkillGuard) and prints them; it leaves
 * docs/benchmarks.md alone and writes dist-bench/results-skill.json and dist-bench/benchmarks-skill.md.
 */

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { SERVER_NODE_FLAGS } from '../test/helpers/server-process.js';
import { type ChainServer, launchRequest, makeSigningPki, type SigningPki, SKILL_ID, SKILL_RESPONSE, serveChain, signedHeaders } from './lib/alexa-signing.js';
import { simulateYear } from './lib/dbsize.js';
import { databaseBytes, writeBytes } from './lib/footprint.js';
import { commitsPerRequest, fsyncCost } from './lib/fsync.js';
import { FORM, form, send } from './lib/http.js';
import { type ConnectionScript, forwardedFor, type LoadResult, load, mergeResults } from './lib/load.js';
import { type Child, freePort, idleRssMiB, median, rssMiB, sleep, start, waitReady } from './lib/procs.js';
import { summarizeProfile } from './lib/profile.js';
import {
  type GroupCommitCounts,
  type LoadRow,
  type Results,
  renderConsole,
  renderMarkdown,
  renderSkillConsole,
  renderSkillMarkdown,
  type SkillResult,
} from './lib/report.js';
import {
  basic,
  CLIENT_ID,
  CLIENT_SECRET,
  CODE_VERIFIER,
  countRows,
  DATABASE_FILE,
  generateFernetKey,
  linkMany,
  openStore,
  REDIRECT_URI,
  RS_CLIENT_ID,
  RS_SECRET,
  type Store,
  seedCodes,
  seedGrants,
  TUNABLES,
  writeOptions,
} from './lib/seed.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'dist', 'main.js');
const EXPRESS = fileURLToPath(new URL('./servers/express-baseline.js', import.meta.url));
const OIDC = fileURLToPath(new URL('./servers/oidc-baseline.js', import.meta.url));
const PROBE = fileURLToPath(new URL('./servers/probe.js', import.meta.url));
const SKILL_BACKEND = fileURLToPath(new URL('./servers/skill-backend.js', import.meta.url));
const DOC = join(ROOT, 'docs', 'benchmarks.md');

const QUICK = process.env.BENCH_QUICK === '1';
const DURATION = Number(process.env.BENCH_DURATION ?? (QUICK ? 2 : 8));
const WARMUP = QUICK ? 1 : 2;
const ROUNDS = 4;
const SLICE = DURATION / ROUNDS;
const YEAR_DAYS = QUICK ? 30 : 365;
const REQUEST_GOAL = 100_000;
const STARTS = 5;
const SMALL_GRANTS = 100;
const LARGE_GRANTS = 100_000;
const MEMORY_GRANTS = 10_000;
const SKILL_CONNECTIONS = 16;
/**
 * The paced rows' rate over all 16 connections: a household's Alexa sends a few requests a minute;
 * 400 a second is far above that and about a quarter of what the guard serves at saturation here.
 */
const SKILL_PACED_RATE = 400;
/** The parts BENCH_ONLY can select; unset: everything. */
const PARTS = ['skill'] as const;
const ONLY = process.env.BENCH_ONLY || undefined;
if (ONLY !== undefined && !(PARTS as readonly string[]).includes(ONLY)) {
  process.stderr.write(`bench: BENCH_ONLY=${ONLY} is not a part; the parts are: ${PARTS.join(', ')}\n`);
  process.exit(2);
}

const benchStarted = performance.now();
const log = (message: string): void => {
  process.stdout.write(`[${((performance.now() - benchStarted) / 1000).toFixed(0).padStart(3)} s] ${message}\n`);
};

const tmpRoot = mkdtempSync(join(tmpdir(), 'alexa-link-bench-'));
const dir = (name: string): string => {
  const path = join(tmpRoot, name);
  mkdirSync(path, { recursive: true });
  return path;
};

// ---------------------------------------------------------------------------------------------
// Processes under test

interface Ours {
  child: Child;
  base: string;
  dataDir: string;
  key: string;
  /** Requests sent to this process by load runs (warm-ups included). */
  requests: number;
  /** RSS after each load run; with the probe loaded, also heap and RSS after a forced GC. */
  rssSeries: Array<{ after: string; requests: number; rss: number; heapAfterGc?: number; rssAfterGc?: number }>;
}

/** `extra`: more options for options.json and more environment (the skill guard's). */
async function startOurs(
  dataDir: string,
  key: string,
  extraArgs: string[] = [],
  probe = false,
  extra: { options?: Record<string, unknown>; env?: Record<string, string> } = {},
): Promise<Ours & { readyMs: number }> {
  const port = await freePort();
  const ingress = await freePort();
  writeOptions(dataDir, port, key, extra.options);
  const child = start([...SERVER_NODE_FLAGS, ...extraArgs, ...(probe ? ['--expose-gc', '--import', PROBE] : []), MAIN], {
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PUBLIC_PORT: String(port),
    INGRESS_PORT: String(ingress),
    INGRESS_TRUSTED_PROXIES: '127.0.0.1',
    ...extra.env,
  });
  const base = `http://127.0.0.1:${port}`;
  const readyMs = await waitReady(child, `${base}/healthz`);
  child.probed = probe;
  return { child, base, dataDir, key, requests: 0, rssSeries: [], readyMs };
}

interface ProbeReading {
  rss: number;
  heapUsed: number;
  groupCommit: GroupCommitCounts;
}

/** Asks the probe (bench/servers/probe.ts) of a server started with `probe` for its reading. */
async function probeReading(child: Child): Promise<ProbeReading> {
  const before = child.output().split('PROBE ').length;
  child.process.kill('SIGUSR2');
  for (let waited = 0; waited < 5000; waited += 10) {
    const parts = child.output().split('PROBE ');
    if (parts.length > before && parts[parts.length - 1]!.includes('\n')) return JSON.parse(parts[parts.length - 1]!.split('\n')[0]!) as ProbeReading;
    await sleep(10);
  }
  throw new Error('the probe did not answer');
}

/** RSS now; then, if the probe is loaded, heap and RSS after a forced full GC (MiB). */
async function memoryPoint(child: Child): Promise<{ rss: number; heapAfterGc?: number; rssAfterGc?: number }> {
  const rss = rssMiB(child.pid);
  if (!child.probed) return { rss };
  const probe = await probeReading(child);
  return { rss, heapAfterGc: probe.heapUsed / 2 ** 20, rssAfterGc: probe.rss / 2 ** 20 };
}

/** Group commits between two probe readings. */
function commitsBetween(before: GroupCommitCounts, after: GroupCommitCounts): GroupCommitCounts {
  const sizes = new Map(after.sizes);
  for (const [size, count] of before.sizes) sizes.set(size, (sizes.get(size) ?? 0) - count);
  return { writes: after.writes - before.writes, commits: after.commits - before.commits, sizes: [...sizes].filter(([, count]) => count > 0) };
}

async function startExpress(): Promise<{ child: Child; base: string; readyMs: number }> {
  const port = await freePort();
  const child = start([EXPRESS], { PORT: String(port) });
  const base = `http://127.0.0.1:${port}`;
  const readyMs = await waitReady(child, `${base}/healthz`);
  return { child, base, readyMs };
}

async function stopChecked(child: Child, what: string): Promise<void> {
  const code = await child.stop();
  if (code !== 0) throw new Error(`${what} exited with ${code}:\n${child.output().slice(-3000)}`);
}

// ---------------------------------------------------------------------------------------------
// Scenarios: per-connection request scripts

const xff = forwardedFor();
const formHeaders = (authorization: string): Record<string, string> => ({ authorization, 'content-type': FORM, 'x-forwarded-for': xff() });

function refreshScript(path: string, authorization: string, lineages: string[]): (i: number) => ConnectionScript {
  return (i) => ({
    method: 'POST',
    path,
    headers: () => formHeaders(authorization),
    body: () => `grant_type=refresh_token&refresh_token=${lineages[i]}`,
    onResponse: (status, body) => {
      if (status === 200) lineages[i] = (JSON.parse(body) as { refresh_token: string }).refresh_token;
    },
  });
}

function introspectScript(path: string, token: string): (i: number) => ConnectionScript {
  const body = `token=${token}`;
  return () => ({ method: 'POST', path, headers: () => formHeaders(basic(RS_CLIENT_ID, RS_SECRET)), body: () => body });
}

function codeScript(pool: string[], exhausted: { count: number }): (i: number) => ConnectionScript {
  const tail = `&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&code_verifier=${CODE_VERIFIER}`;
  return () => ({
    method: 'POST',
    path: '/token',
    headers: () => formHeaders(basic(CLIENT_ID, CLIENT_SECRET)),
    body: () => {
      const code = pool.pop();
      if (code === undefined) exhausted.count++;
      return `grant_type=authorization_code&code=${code ?? 'pool-exhausted'}${tail}`;
    },
  });
}

function getScript(path: string): (i: number) => ConnectionScript {
  return () => ({ method: 'GET', path, headers: () => ({ 'x-forwarded-for': xff() }) });
}

function formScript(path: string): (i: number) => ConnectionScript {
  // The same shape and size as a refresh request.
  const body = `grant_type=refresh_token&refresh_token=${'x'.repeat(43)}`;
  return () => ({ method: 'POST', path, headers: () => formHeaders(basic(CLIENT_ID, CLIENT_SECRET)), body: () => body });
}

const rows: LoadRow[] = [];

/**
 * One row of the table. `prepare` runs before every slice and returns the connection scripts
 * (fresh oidc-provider tokens, a fresh pool of codes…); `counter` is the server whose requests and
 * memory are tracked.
 */
interface Scenario {
  row: Omit<LoadRow, 'result' | 'connections'>;
  base: string;
  connections: number;
  prepare: (seconds: number) => Promise<(i: number) => ConnectionScript> | ((i: number) => ConnectionScript);
  counter?: Ours;
  after?: () => void;
  /** Paced load: requests per second over all connections. */
  rate?: number;
  slices: LoadResult[];
  /** performance.now() when its last slice ended. */
  endedAt?: number;
}

function logRow(row: Omit<LoadRow, 'result' | 'connections'>, connections: number, result: LoadResult): void {
  log(
    `${row.target.padEnd(13)} ${`${row.scenario}${row.database ? ' (large db)' : ''}`.padEnd(33)} c=${String(connections).padStart(2)}  ${result.rps.toFixed(0).padStart(6)} req/s  ` +
      `p50 ${result.p50.toFixed(2)} ms  p99 ${result.p99.toFixed(2)} ms  non-2xx ${result.non2xx}${result.errors ? `  errors ${result.errors}` : ''}` +
      `${result.stealPct !== undefined ? `  steal ${result.stealPct.toFixed(1)} %` : ''}${result.sampleError ? `  (${result.sampleError.slice(0, 120)})` : ''}`,
  );
}

async function slice(scenario: Scenario, seconds: number): Promise<LoadResult> {
  // A refresh cut off at the end of a slice had its token rotated, and its lineage presents that
  // token again, as Alexa does after a lost answer. Within the repeat window the server rightly
  // answers 429, so where the round robin turns, two slices of one refresh row are kept apart: the
  // window, plus a second for requests the server finished after the load generator had stopped.
  if (scenario.row.kind === 'refresh' && scenario.endedAt !== undefined)
    await sleep(scenario.endedAt + (TUNABLES.oauth.refreshRepeatSeconds + 1) * 1000 - performance.now());
  const connection = await scenario.prepare(seconds);
  const result = await load({ url: scenario.base, connections: scenario.connections, durationS: seconds, connection, overallRate: scenario.rate });
  scenario.endedAt = performance.now();
  scenario.after?.();
  if (scenario.counter) scenario.counter.requests += result.requests;
  return result;
}

/**
 * Round robin: every scenario gets one warm-up, then ROUNDS slices of DURATION/ROUNDS seconds,
 * the scenarios taking turns (forward in even rounds, backward in odd ones). On a shared machine
 * whose load changes by the minute, every row then sees the same mix of quiet and busy moments,
 * so the ratios between rows hold even when the absolute numbers drift. Returns the rows, in the
 * order of `scenarios`.
 */
async function runRoundRobin(scenarios: Scenario[], onRound: (round: number) => Promise<void>): Promise<LoadRow[]> {
  for (const scenario of scenarios) await slice(scenario, WARMUP);
  log(`warm-up done (${scenarios.length} scenarios × ${WARMUP} s); ${ROUNDS} rounds of ${SLICE} s slices`);
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? scenarios : [...scenarios].reverse();
    for (const scenario of order) scenario.slices.push(await slice(scenario, SLICE));
    await onRound(round);
    log(`round ${round + 1}/${ROUNDS} done`);
  }
  return scenarios.map((scenario) => {
    const result = mergeResults(scenario.slices);
    logRow(scenario.row, scenario.connections, result);
    return { ...scenario.row, connections: scenario.connections, result };
  });
}

/** A fresh server under `node --cpu-prof`, 16 connections for one run; the profile is summarized and kept. */
async function profileRun(kind: 'refresh' | 'introspect', alexaAuth: string): Promise<Results['profiles']['refresh']> {
  const profileDir = dir(`profile-${kind}`);
  const profiled = await startOurs(dir(`profiled-${kind}`), generateFernetKey(), ['--cpu-prof', `--cpu-prof-dir=${profileDir}`], true);
  const profStore = openStore(profiled.dataDir, profiled.key);
  const linkedProf = linkMany(profStore, 16, 0);
  profStore.close();
  const script =
    kind === 'refresh'
      ? refreshScript(
          '/token',
          alexaAuth,
          linkedProf.map((l) => l.refreshToken),
        )
      : introspectScript('/introspect', linkedProf[0]!.accessToken);
  // The probe forces a GC when read: read it before the load starts and after it ends, never during.
  const countsBefore = (await probeReading(profiled.child)).groupCommit;
  const loadFrom = Number(process.hrtime.bigint() / 1000n);
  const run = await load({ url: profiled.base, connections: 16, durationS: DURATION, connection: script });
  const loadTo = Number(process.hrtime.bigint() / 1000n);
  const groupCommit = commitsBetween(countsBefore, (await probeReading(profiled.child)).groupCommit);
  await stopChecked(profiled.child, `alexa-link (profiled, ${kind})`);
  const file = readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error('no .cpuprofile written');
  const keep = join(ROOT, 'dist-bench', `${kind}.cpuprofile`);
  copyFileSync(join(profileDir, file), keep);
  const summary = {
    ...summarizeProfile(keep, 15, loadFrom),
    rps: run.rps,
    non2xx: run.non2xx,
    file: `dist-bench/${kind}.cpuprofile`,
    loadMs: (loadTo - loadFrom) / 1000,
    groupCommit,
  };
  log(`profile (${kind}): ${summary.busyMs.toFixed(0)} ms busy of ${summary.wallMs.toFixed(0)} ms; top: ${summary.top[0]?.name}`);
  return summary;
}

// ---------------------------------------------------------------------------------------------

/** Which code was measured: the commit, the files of src/ that differ from it, and a hash of src/ as built. */
function codeState(): Results['code'] {
  const git = (...args: string[]): string => {
    try {
      // trimEnd only: porcelain lines start with a space (" M src/app.ts").
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trimEnd();
    } catch {
      return '';
    }
  };
  const hash = createHash('sha256');
  const walk = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) hash.update(path.slice(ROOT.length)).update(readFileSync(path));
    }
  };
  walk(join(ROOT, 'src'));
  return {
    commit: git('rev-parse', '--short', 'HEAD') || 'unknown',
    changedSrc: git('status', '--porcelain', '--', 'src')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.slice(3)),
    srcHash: hash.digest('hex').slice(0, 12),
  };
}

// ---------------------------------------------------------------------------------------------
// The phases of a run, in the order main runs them; each fills in its part of the results.

const alexaAuth = basic(CLIENT_ID, CLIENT_SECRET);

/** What was measured, on what, with which settings; the phases below fill in the rest. */
function describeRun(): Results {
  const cpu = cpus();
  return {
    command: 'npm run bench',
    code: codeState(),
    date: new Date().toISOString(),
    machine: {
      node: process.version,
      cpuCount: cpu.length,
      cpuModel: cpu[0]?.model ?? 'unknown',
      kernel: release(),
      memoryGiB: totalmem() / 2 ** 30,
      loadAverageAtStart: loadavg(),
    },
    settings: { durationS: DURATION, warmupS: WARMUP, rounds: ROUNDS, quick: QUICK },
  } as Results;
}

/** 1. What a durable commit costs on this disk (before any server runs). */
function measureFsync(results: Results): void {
  results.fsync = fsyncCost(dir('fsync'));
  log(`fsync: commit with synchronous=FULL ${results.fsync.full.medianUs.toFixed(0)} µs, NORMAL ${results.fsync.normal.medianUs.toFixed(0)} µs (median)`);
}

/** 2. Start-up: process start → first 200 from GET /healthz, median of 5, ours and bare Express. */
async function measureStartup(results: Results): Promise<void> {
  const expressStarts: number[] = [];
  const ourStarts: number[] = [];
  const startupDir = dir('startup');
  const startupKey = generateFernetKey();
  for (let i = 0; i < STARTS; i++) {
    const express = await startExpress();
    expressStarts.push(express.readyMs);
    await stopChecked(express.child, 'express baseline');
    const ours = await startOurs(startupDir, startupKey);
    ourStarts.push(ours.readyMs);
    await stopChecked(ours.child, 'alexa-link');
  }
  results.startup = { ours: ourStarts, express: expressStarts, oursLarge: [] };
  log(`ready: alexa-link median ${median(ourStarts).toFixed(0)} ms (first start creates the database), express ${median(expressStarts).toFixed(0)} ms`);
}

/** The 100,000-grant database: where it is, and the tokens its load runs start from. */
interface LargeDatabase {
  dir: string;
  key: string;
  lineages: string[];
  access: string;
}

/** 3. The large database (100,000 grants), seeded before its server starts. */
function seedLargeDatabase(results: Results): LargeDatabase {
  const largeDir = dir('large');
  const largeKey = generateFernetKey();
  const store = openStore(largeDir, largeKey);
  const started = performance.now();
  const linked = linkMany(store, 17, 0);
  seedGrants(store, LARGE_GRANTS - linked.length, 1000);
  const seconds = (performance.now() - started) / 1000;
  results.seeding = { grants: countRows(store, 'grants'), tokens: countRows(store, 'refresh_tokens'), seconds, openMs: [], pruneMs: [] };
  store.close();
  log(`seeded ${results.seeding.grants} grants (${results.seeding.tokens} tokens) in ${seconds.toFixed(1)} s`);
  // What start-up and the 10-minute pruning timer cost with this database, timed here in the bench process
  // (same code, same file): Store.open (read-only quick_check, then open) and store.prune().
  for (let i = 0; i < 3; i++) {
    let t = performance.now();
    const again = openStore(largeDir, largeKey);
    results.seeding.openMs.push(performance.now() - t);
    t = performance.now();
    again.prune();
    results.seeding.pruneMs.push(performance.now() - t);
    again.close();
  }
  log(`large database: Store.open ${median(results.seeding.openMs).toFixed(0)} ms, prune ${median(results.seeding.pruneMs).toFixed(0)} ms (medians of 3)`);
  return { dir: largeDir, key: largeKey, lineages: linked.slice(0, 16).map((l) => l.refreshToken), access: linked[16]!.accessToken };
}

/** Start-up on the large database: two starts here, the third is its load server's (startLoadServers). */
async function largeStartups(largeDb: LargeDatabase): Promise<number[]> {
  const largeStarts: number[] = [];
  for (let i = 0; i < 2; i++) {
    const ours = await startOurs(largeDb.dir, largeDb.key);
    largeStarts.push(ours.readyMs);
    await stopChecked(ours.child, 'alexa-link (large)');
  }
  return largeStarts;
}

/** The servers the load runs go to, all running at once. */
interface LoadServers {
  express: { child: Child; base: string };
  oidc: Child;
  oidcBase: string;
  /** The main server (100 grants), with the probe. */
  ours: Ours;
  large: Ours;
}

/** 4. The servers for the load runs. */
async function startLoadServers(results: Results, largeDb: LargeDatabase, largeStarts: number[]): Promise<LoadServers> {
  const express = await startExpress();
  const oidcPort = await freePort();
  const oidc = start([OIDC], { PORT: String(oidcPort), CLIENT_ID, CLIENT_SECRET, RS_SECRET, REDIRECT_URI, LINEAGES: '16' });
  const oidcInfo = JSON.parse(await oidc.line('READY ')) as { port: number };
  const oidcBase = `http://127.0.0.1:${oidcInfo.port}`;
  // The main server carries the probe (bench/servers/probe.ts) for the memory series; it only acts on SIGUSR2.
  const ours = await startOurs(dir('main'), generateFernetKey(), [], true);
  const large = await startOurs(largeDb.dir, largeDb.key);
  largeStarts.push(large.readyMs);
  results.startup.oursLarge = largeStarts;
  return { express, oidc, oidcBase, ours, large };
}

async function measureIdleRss(results: Results, servers: LoadServers): Promise<void> {
  const { ours, express, oidc, large } = servers;
  const [oursIdle, expressIdle, oidcIdle, largeIdle] = await Promise.all(
    [ours.child.pid, express.child.pid, oidc.pid, large.child.pid].map((pid) => idleRssMiB(pid)),
  );
  results.rss = {
    oursIdle: oursIdle!.idle,
    oursIdleFirst: oursIdle!.first,
    expressIdle: expressIdle!.idle,
    oidcIdle: oidcIdle!.idle,
    largeIdle: largeIdle!.idle,
  } as Results['rss'];
  log(
    `idle RSS: alexa-link ${results.rss.oursIdle.toFixed(1)} MiB, express ${results.rss.expressIdle.toFixed(1)} MiB, oidc-provider ${results.rss.oidcIdle.toFixed(1)} MiB`,
  );
}

/** The main server's database, open in the bench process, and the tokens its load runs use. */
interface SmallDatabase {
  store: Store;
  lineages: string[];
  introspectToken: string;
  /** A lineage kept out of the load runs, for counting the commits of one refresh. */
  spare: string;
}

/** 5. The small database: 100 grants, 18 of them made through the full link flow. */
function seedSmallDatabase(ours: Ours): SmallDatabase {
  const store: Store = openStore(ours.dataDir, ours.key);
  const linked = linkMany(store, 18, 0);
  seedGrants(store, SMALL_GRANTS - linked.length, 1000);
  return { store, lineages: linked.slice(0, 16).map((l) => l.refreshToken), introspectToken: linked[16]!.accessToken, spare: linked[17]!.refreshToken };
}

/** 6. Commits (fsyncs under synchronous=FULL) per request, from the server's WAL. */
async function countCommits(results: Results, ours: Ours, small: SmallDatabase): Promise<void> {
  const wal = join(ours.dataDir, `${DATABASE_FILE}-wal`);
  const post = async (path: string, body: string, authorization: string): Promise<Record<string, unknown>> => {
    const reply = await send(`${ours.base}${path}`, { method: 'POST', headers: { authorization, 'content-type': FORM }, body });
    if (reply.status !== 200) throw new Error(`${path} answered ${reply.status}: ${reply.body}`);
    return reply.json!;
  };
  let spare = small.spare;
  const checkCodes = seedCodes(small.store, 8, 5000, 600);
  results.commits = {
    refresh: await commitsPerRequest(wal, async () => {
      spare = (await post('/token', form({ grant_type: 'refresh_token', refresh_token: spare }), alexaAuth)).refresh_token as string;
    }),
    code: await commitsPerRequest(wal, async () => {
      await post(
        '/token',
        form({ grant_type: 'authorization_code', code: checkCodes.pop()!, redirect_uri: REDIRECT_URI, code_verifier: CODE_VERIFIER }),
        alexaAuth,
      );
    }),
    introspect: await commitsPerRequest(wal, async () => {
      const reply = await post('/introspect', form({ token: small.introspectToken }), basic(RS_CLIENT_ID, RS_SECRET));
      if (reply.active !== true) throw new Error('introspection target is not active');
    }),
    metadata: await commitsPerRequest(wal, async () => {
      await send(`${ours.base}/.well-known/oauth-authorization-server`);
    }),
  };
  log(`commits per request: ${JSON.stringify(results.commits)}`);
}

async function oidcMake<T>(oidcBase: string, path: string): Promise<T> {
  const reply = await send(`${oidcBase}${path}`, { method: 'POST' });
  if (reply.status !== 200 || !reply.json) throw new Error(`oidc baseline ${path}: ${reply.status} ${reply.body}`);
  return reply.json as T;
}

interface PoolStats {
  seeded: number;
  seedSeconds: number;
  left: number;
  exhausted: number;
}

/** The authorization_code row at `c` connections; `scenarios` is the list it is added to. */
function codeScenario(c: number, codes: Ours, codeStore: Store, stats: PoolStats, scenarios: Scenario[]): Omit<Scenario, 'slices'> {
  let pool: string[] = [];
  const exhausted = { count: 0 };
  const ownSlices = (): LoadResult[] => scenarios.find((sc) => sc.row.kind === 'code' && sc.connections === c)?.slices ?? [];
  return {
    row: { target: 'alexa-link', scenario: 'authorization_code', method: 'POST', kind: 'code' },
    base: codes.base,
    connections: c,
    prepare: (seconds) => {
      // Twice the best rate seen so far (1,000/s before the first slice), plus a margin.
      const rate = Math.max(1000, ...ownSlices().map((r) => r.rps));
      const size = Math.ceil(rate * seconds * 2) + 500;
      const started = performance.now();
      pool = seedCodes(codeStore, size, 10_000, 600);
      stats.seeded += size;
      stats.seedSeconds += (performance.now() - started) / 1000;
      return codeScript(pool, exhausted);
    },
    after: () => {
      stats.left += pool.length;
      stats.exhausted = exhausted.count;
    },
  };
}

/** Every row of the load table, in the order the round robin runs them. */
function loadScenarios(
  servers: LoadServers,
  small: SmallDatabase,
  largeDb: LargeDatabase,
  codes: Ours,
  codeStore: Store,
  poolStats: Map<number, PoolStats>,
): Scenario[] {
  const { express, oidcBase, ours, large } = servers;
  const { lineages, introspectToken } = small;
  const oidcToken = async (): Promise<string> => (await oidcMake<{ accessToken: string }>(oidcBase, '/bench/access-token')).accessToken;
  const oidcLineages = async (n: number): Promise<string[]> => (await oidcMake<{ refreshTokens: string[] }>(oidcBase, `/bench/lineages?n=${n}`)).refreshTokens;
  const largeLabel = `${LARGE_GRANTS.toLocaleString('en')} grants`;
  const scenarios: Scenario[] = [];
  const add = (scenario: Omit<Scenario, 'slices'>): void => void scenarios.push({ ...scenario, slices: [] });
  for (const c of [1, 16]) {
    add({
      row: { target: 'express', scenario: 'GET constant JSON', method: 'GET', kind: 'baseline' },
      base: express.base,
      connections: c,
      prepare: () => getScript('/json'),
    });
    add({
      row: { target: 'express', scenario: 'POST form → JSON', method: 'POST', kind: 'baseline' },
      base: express.base,
      connections: c,
      prepare: () => formScript('/form'),
    });
    add({
      row: { target: 'alexa-link', scenario: 'metadata (RFC 8414)', method: 'GET', kind: 'metadata' },
      base: ours.base,
      connections: c,
      counter: ours,
      prepare: () => getScript('/.well-known/oauth-authorization-server'),
    });
    add({
      row: { target: 'alexa-link', scenario: 'introspection', method: 'POST', kind: 'introspect' },
      base: ours.base,
      connections: c,
      counter: ours,
      prepare: () => introspectScript('/introspect', introspectToken),
    });
    // oidc-provider's tokens are made right before each slice: its in-memory adapter evicts idle entries.
    add({
      row: { target: 'oidc-provider', scenario: 'introspection', method: 'POST', kind: 'introspect' },
      base: oidcBase,
      connections: c,
      prepare: async () => introspectScript('/token/introspection', await oidcToken()),
    });
    add({
      row: { target: 'oidc-provider', scenario: 'refresh_token grant', method: 'POST', kind: 'refresh' },
      base: oidcBase,
      connections: c,
      prepare: async () => refreshScript('/token', alexaAuth, await oidcLineages(c)),
    });
    add({
      row: { target: 'alexa-link', scenario: 'refresh_token grant', method: 'POST', kind: 'refresh' },
      base: ours.base,
      connections: c,
      counter: ours,
      prepare: () => refreshScript('/token', alexaAuth, lineages),
    });
    // Codes are single use and live 60 s in the server: seed a fresh pool (valid 10 min) right before each slice.
    const stats = { seeded: 0, seedSeconds: 0, left: 0, exhausted: 0 };
    poolStats.set(c, stats);
    add(codeScenario(c, codes, codeStore, stats, scenarios));
  }
  add({
    row: { target: 'alexa-link', scenario: 'introspection', method: 'POST', kind: 'introspect', database: largeLabel },
    base: large.base,
    connections: 16,
    counter: large,
    prepare: () => introspectScript('/introspect', largeDb.access),
  });
  add({
    row: { target: 'alexa-link', scenario: 'refresh_token grant', method: 'POST', kind: 'refresh', database: largeLabel },
    base: large.base,
    connections: 16,
    counter: large,
    prepare: () => refreshScript('/token', alexaAuth, largeDb.lineages),
  });
  return scenarios;
}

/**
 * 7. Load runs, round robin (see runRoundRobin). Code exchanges go to a third server with its own
 *    database: each creates a grant, and the main database must keep its 100 grants.
 */
async function measureLoad(results: Results, servers: LoadServers, small: SmallDatabase, largeDb: LargeDatabase): Promise<void> {
  const { ours } = servers;
  const codes = await startOurs(dir('codes'), generateFernetKey());
  const codeStore = openStore(codes.dataDir, codes.key);
  const poolStats = new Map<number, PoolStats>();
  const scenarios = loadScenarios(servers, small, largeDb, codes, codeStore, poolStats);
  const measured = await runRoundRobin(scenarios, async (round) => {
    ours.rssSeries.push({ after: `round ${round + 1} of ${ROUNDS}`, requests: ours.requests, ...(await memoryPoint(ours.child)) });
  });
  rows.push(...measured);
  results.codePools = [...poolStats.entries()].map(([connections, stats]) => ({ connections, ...stats }));
  for (const [c, stats] of poolStats) if (stats.exhausted > 0) log(`WARNING: the code pool for ${c} conn. ran dry ${stats.exhausted} times`);
  codeStore.close();
  await stopChecked(codes.child, 'alexa-link (codes)');
}

/** 8. Memory after ≥ 100,000 requests (the runs above, topped up with introspection if short). */
async function measureMemoryAfterLoad(results: Results, servers: LoadServers, small: SmallDatabase): Promise<void> {
  const { ours, large, express, oidc } = servers;
  const { store, introspectToken } = small;
  const topUpStarted = performance.now();
  while (ours.requests < REQUEST_GOAL && performance.now() - topUpStarted < 60_000) {
    const top = await load({ url: ours.base, connections: 16, durationS: 5, connection: introspectScript('/introspect', introspectToken) });
    ours.requests += top.requests;
    ours.rssSeries.push({ after: 'top-up: introspection, 16 conn., 5 s', requests: ours.requests, ...(await memoryPoint(ours.child)) });
    if (top.non2xx > 0) throw new Error(`top-up run got ${top.non2xx} non-2xx: ${top.sampleError}`);
  }
  results.rss.series = ours.rssSeries;
  // The last series point was read before its forced GC: that is the natural RSS after the requests.
  results.rss.oursAfterRequests = ours.rssSeries[ours.rssSeries.length - 1]!.rss;
  results.rss.requests = ours.requests;
  results.rss.largeAfterRequests = rssMiB(large.child.pid);
  results.rss.largeRequests = large.requests;
  results.rss.expressAfter = rssMiB(express.child.pid);
  results.rss.oidcAfter = rssMiB(oidc.pid);
  results.mainDatabase = { grants: countRows(store, 'grants'), tokens: countRows(store, 'refresh_tokens'), auditEvents: countRows(store, 'audit_events') };
  log(`RSS after ${ours.requests} requests: ${results.rss.oursAfterRequests.toFixed(1)} MiB`);
  store.close();
}

async function stopLoadServers(servers: LoadServers): Promise<void> {
  await stopChecked(servers.ours.child, 'alexa-link');
  await stopChecked(servers.large.child, 'alexa-link (large)');
  await stopChecked(servers.express.child, 'express baseline');
  await stopChecked(servers.oidc, 'oidc-provider baseline');
}

/** 9. Memory with 10,000 grants: a fresh server, idle, then seeded, then after touching them. */
async function measureMemoryWithGrants(results: Results): Promise<void> {
  const memory = await startOurs(dir('memory'), generateFernetKey());
  const { idle } = await idleRssMiB(memory.child.pid);
  const memStore = openStore(memory.dataDir, memory.key);
  const linkedMem = linkMany(memStore, 50, 0);
  seedGrants(memStore, MEMORY_GRANTS - linkedMem.length, 1000);
  const grants = countRows(memStore, 'grants');
  memStore.close();
  await sleep(500);
  const seeded = rssMiB(memory.child.pid);
  for (const lineage of linkedMem) {
    const reply = await send(`${memory.base}/introspect`, {
      method: 'POST',
      headers: { authorization: basic(RS_CLIENT_ID, RS_SECRET), 'content-type': FORM },
      body: form({ token: lineage.accessToken }),
    });
    if (reply.json?.active !== true) throw new Error(`introspection on the memory server: ${reply.status} ${reply.body}`);
    const refreshed = await send(`${memory.base}/token`, {
      method: 'POST',
      headers: { authorization: alexaAuth, 'content-type': FORM },
      body: form({ grant_type: 'refresh_token', refresh_token: lineage.refreshToken }),
    });
    if (refreshed.status !== 200) throw new Error(`refresh on the memory server: ${refreshed.status} ${refreshed.body}`);
  }
  const touched = rssMiB(memory.child.pid);
  results.rss.memoryServer = { idle, grants, seeded, touched, touchedGrants: linkedMem.length };
  await stopChecked(memory.child, 'alexa-link (memory)');
  log(`RSS: fresh server idle ${idle.toFixed(1)} MiB, with ${grants} grants ${seeded.toFixed(1)} MiB, after using 50 of them ${touched.toFixed(1)} MiB`);
}

/** 10. Where the time goes: CPU profiles of the server under refresh and under introspection load. */
async function measureProfiles(results: Results): Promise<void> {
  results.profiles = {
    refresh: await profileRun('refresh', alexaAuth),
    introspect: await profileRun('introspect', alexaAuth),
  };
}

// ---------------------------------------------------------------------------------------------
// The skill guard (POST /skill): a signed request through the guard vs the same request straight to
// the skill backend, the certificate chain cached.

const BACKEND_PATH = '/alexa';

async function startSkillBackend(): Promise<{ child: Child; base: string }> {
  const port = await freePort();
  const child = start([SKILL_BACKEND], { PORT: String(port) });
  const base = `http://127.0.0.1:${port}`;
  await waitReady(child, `${base}/healthz`);
  return { child, base };
}

async function backendCounts(base: string): Promise<{ forwarded: number; direct: number }> {
  const reply = await send(`${base}/counts`);
  if (reply.status !== 200 || !reply.json) throw new Error(`skill backend /counts: ${reply.status} ${reply.body}`);
  return reply.json as { forwarded: number; direct: number };
}

interface SkillSetup {
  pki: SigningPki;
  chain: ChainServer;
  backendBase: string;
}

/**
 * A server with the skill guard on (trusting the bench's PKI, chains from the bench's chain server),
 * one account linked in its store before it starts, and one signed request sent through it: the
 * chain is downloaded and cached, the token judged, the backend's answer passed back.
 */
async function startGuard(name: string, setup: SkillSetup, extraArgs: string[] = []): Promise<{ guard: Ours; accessToken: string }> {
  const dataDir = dir(name);
  const key = generateFernetKey();
  const store = openStore(dataDir, key);
  const accessToken = linkMany(store, 1, 0)[0]!.accessToken;
  store.close();
  const guard = await startOurs(dataDir, key, extraArgs, false, {
    options: { alexa_skill_id: SKILL_ID, skill_backend_url: `${setup.backendBase}${BACKEND_PATH}` },
    env: { SKILL_TEST_TRUSTED_CA: setup.pki.caFile, SKILL_TEST_CERT_ORIGIN: setup.chain.origin },
  });
  const downloads = setup.chain.hits();
  const body = launchRequest(accessToken);
  const first = await send(`${guard.base}/skill`, { method: 'POST', headers: signedHeaders(setup.pki, body), body: body.toString('utf8') });
  if (first.status !== 200 || first.body !== SKILL_RESPONSE) {
    throw new Error(`the skill guard's first request answered ${first.status} ${first.body.slice(0, 300)}:\n${guard.child.output().slice(-3000)}`);
  }
  if (setup.chain.hits() !== downloads + 1) throw new Error(`the first request made ${setup.chain.hits() - downloads} chain downloads, not 1`);
  return { guard, accessToken };
}

/** What the load generator got from one skill row over all its runs, warm-up included. */
interface SkillTally {
  answers: number;
  /** Answers that were not 200 with the backend's body byte for byte (a refusal or a LinkAccount card is a 200 too). */
  wrong: number;
  sample: string | undefined;
}

/**
 * The connection scripts of one skill run: one LaunchRequest, signed here, right before the run
 * (its timestamp must stay within 150 s of the server's clock), sent by every connection.
 */
function skillScript(path: string, pki: SigningPki, accessToken: string, tally: SkillTally): (i: number) => ConnectionScript {
  const body = launchRequest(accessToken);
  const headers = signedHeaders(pki, body);
  const text = body.toString('utf8');
  return () => ({
    method: 'POST',
    path,
    headers: () => ({ ...headers }),
    body: () => text,
    onResponse: (status, answer) => {
      tally.answers++;
      if (status !== 200 || answer !== SKILL_RESPONSE) {
        tally.wrong++;
        tally.sample ??= `${status} ${answer.slice(0, 300)}`;
      }
    },
  });
}

/** The guard under `node --cpu-prof` (a fresh server), 16 connections for one run; the profile is summarized and kept. */
async function profileSkillGuard(setup: SkillSetup): Promise<NonNullable<SkillResult['profile']>> {
  const profileDir = dir('profile-skill');
  const { guard, accessToken } = await startGuard('profiled-skill', setup, ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]);
  const tally: SkillTally = { answers: 0, wrong: 0, sample: undefined };
  const loadFrom = Number(process.hrtime.bigint() / 1000n);
  // Capped: the one signature of the run must stay within the 150 s the guard allows.
  const run = await load({
    url: guard.base,
    connections: SKILL_CONNECTIONS,
    durationS: Math.min(DURATION, 60),
    connection: skillScript('/skill', setup.pki, accessToken, tally),
  });
  const loadTo = Number(process.hrtime.bigint() / 1000n);
  await stopChecked(guard.child, 'alexa-link (profiled, skill guard)');
  if (tally.wrong > 0) throw new Error(`the profiled skill guard answered ${tally.wrong} times other than the backend: ${tally.sample}`);
  const file = readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error('no .cpuprofile written');
  const keep = join(ROOT, 'dist-bench', 'skill.cpuprofile');
  copyFileSync(join(profileDir, file), keep);
  const summary = {
    ...summarizeProfile(keep, 15, loadFrom),
    rps: run.rps,
    non2xx: run.non2xx,
    file: 'dist-bench/skill.cpuprofile',
    loadMs: (loadTo - loadFrom) / 1000,
  };
  log(`profile (skill guard): ${summary.busyMs.toFixed(0)} ms busy of ${summary.wallMs.toFixed(0)} ms; top: ${summary.top[0]?.name}`);
  return summary;
}

/**
 * The skill guard, once the load servers have stopped: a bare node:http skill backend
 * (bench/servers/skill-backend.ts), a server with the guard forwarding to it, and the same signed
 * LaunchRequest sent to each at 16 connections (the target) and at 1 (for information), the four
 * rows round robin. Every answer through the guard must be the backend's, and the backend must have
 * received every request the guard answered, so the guard cannot pass by refusing; then a CPU
 * profile of the guard under the 16-connection load.
 */
async function measureSkillGuard(results: Results): Promise<void> {
  const pki = makeSigningPki(dir('skill-pki'));
  const chain = await serveChain(pki);
  const backend = await startSkillBackend();
  const setup: SkillSetup = { pki, chain, backendBase: backend.base };
  const { guard, accessToken } = await startGuard('skill', setup);
  const before = await backendCounts(backend.base);
  const tallies = { direct: { answers: 0, wrong: 0, sample: undefined } as SkillTally, guard: { answers: 0, wrong: 0, sample: undefined } as SkillTally };
  // The target's rows at 16 connections, and the same at 1 for information (no queueing).
  const scenarios: Scenario[] = [SKILL_CONNECTIONS, 1].flatMap((connections) => [
    {
      row: { target: 'skill backend', scenario: 'signed LaunchRequest, direct', method: 'POST', kind: 'skill' },
      base: backend.base,
      connections,
      prepare: () => skillScript(BACKEND_PATH, pki, accessToken, tallies.direct),
      slices: [],
    },
    {
      row: { target: 'alexa-link', scenario: 'the same via POST /skill', method: 'POST', kind: 'skill' },
      base: guard.base,
      connections,
      counter: guard,
      prepare: () => skillScript('/skill', pki, accessToken, tallies.guard),
      slices: [],
    },
  ]);
  // And at 16 connections sharing a steady SKILL_PACED_RATE: below saturation, so the difference is
  // the guard's own work per request rather than requests queueing behind a busier server.
  scenarios.push(
    ...[
      {
        base: backend.base,
        path: BACKEND_PATH,
        tally: tallies.direct,
        scenario: `signed LaunchRequest, direct, ${SKILL_PACED_RATE}/s`,
        target: 'skill backend' as const,
      },
      { base: guard.base, path: '/skill', tally: tallies.guard, scenario: `the same via POST /skill, ${SKILL_PACED_RATE}/s`, target: 'alexa-link' as const },
    ].map(
      (side): Scenario => ({
        row: { target: side.target, scenario: side.scenario, method: 'POST', kind: 'skill' },
        base: side.base,
        connections: SKILL_CONNECTIONS,
        rate: SKILL_PACED_RATE,
        ...(side.target === 'alexa-link' ? { counter: guard } : {}),
        prepare: () => skillScript(side.path, pki, accessToken, side.tally),
        slices: [],
      }),
    ),
  );
  const [direct, viaGuard, direct1, viaGuard1, pacedDirect, pacedGuard] = await runRoundRobin(scenarios, async () => undefined);
  // Requests the load generator cut off at the end of a run may still be on their way to the backend.
  await sleep(500);
  const after = await backendCounts(backend.base);
  const chainDownloads = chain.hits();
  await stopChecked(guard.child, 'alexa-link (skill guard)');
  results.skill = {
    connections: SKILL_CONNECTIONS,
    runs: ROUNDS + 1,
    // Cut off per run: the 16- and 1-connection runs; a paced run waits for all its answers.
    maxCutOff: (SKILL_CONNECTIONS + 1 + 1 + 1) * (ROUNDS + 1),
    direct: direct!.result,
    guard: viaGuard!.result,
    single: { direct: direct1!.result, guard: viaGuard1!.result },
    paced: { rate: SKILL_PACED_RATE, direct: pacedDirect!.result, guard: pacedGuard!.result },
    answers: {
      direct: tallies.direct.answers,
      guard: tallies.guard.answers,
      directWrong: tallies.direct.wrong,
      guardWrong: tallies.guard.wrong,
      sample: tallies.guard.sample ?? tallies.direct.sample,
    },
    backend: { forwarded: after.forwarded - before.forwarded, direct: after.direct - before.direct },
    chainDownloads,
  };
  log(
    `skill guard: ${tallies.guard.answers} answers through the guard (${tallies.guard.wrong} not the backend's), backend received ${results.skill.backend.forwarded} forwarded; ` +
      `${tallies.direct.answers} direct answers, backend received ${results.skill.backend.direct}; chain downloaded ${chainDownloads}×`,
  );
  results.skill.profile = await profileSkillGuard(setup);
  await stopChecked(backend.child, 'skill backend');
  await chain.close();
}

/** 11. A simulated year of hourly refreshes for 10 accounts, pruned daily. */
/**
 * Idle RSS of three fresh servers and three bare Express apps started together on a quiet machine:
 * single readings vary by a few MiB, so the footprint compares medians.
 */
async function measureIdleSamples(results: Results): Promise<void> {
  const servers = await Promise.all([0, 1, 2].map((i) => startOurs(dir(`idle-${i}`), generateFernetKey())));
  const baselines = await Promise.all([0, 1, 2].map(() => startExpress()));
  const readings = await Promise.all([...servers, ...baselines].map(({ child }) => idleRssMiB(child.pid)));
  results.idleSamples = { ours: readings.slice(0, 3).map((r) => r.idle), express: readings.slice(3).map((r) => r.idle) };
  await Promise.all([
    ...servers.map(({ child }) => stopChecked(child, 'an idle server')),
    ...baselines.map(({ child }) => stopChecked(child, 'an idle Express')),
  ]);
  log(
    `idle RSS samples: alexa-link ${results.idleSamples.ours.map((v) => v.toFixed(1)).join(', ')}; express ${results.idleSamples.express.map((v) => v.toFixed(1)).join(', ')} MiB`,
  );
}

/** 10 links refreshing in rounds over HTTP, 100 rounds: bytes written and kept per refresh. */
async function measureFootprint(results: Results): Promise<void> {
  const links = 10;
  const rounds = 100;
  const dataDir = dir('footprint');
  const key = generateFernetKey();
  const seeded = openStore(dataDir, key);
  const lineages = linkMany(seeded, links, 0).map((lineage) => lineage.refreshToken);
  seeded.close();
  const dbBefore = databaseBytes(dataDir, DATABASE_FILE);
  const ours = await startOurs(dataDir, key);
  const authorization = basic(CLIENT_ID, CLIENT_SECRET);
  const before = writeBytes(ours.child.pid);
  for (let round = 0; round < rounds; round++) {
    for (let link = 0; link < links; link++) {
      const response = await fetch(`${ours.base}/token`, {
        method: 'POST',
        // One address per link (a household each), as the load rows do: the per-address limit is 300 a minute.
        headers: { authorization, 'content-type': FORM, 'x-forwarded-for': `198.18.0.${link + 1}` },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: lineages[link]! }),
      });
      const json = (await response.json()) as { refresh_token?: string };
      if (response.status !== 200 || !json.refresh_token) throw new Error(`footprint refresh answered ${response.status}`);
      lineages[link] = json.refresh_token;
    }
  }
  const writtenBytes = writeBytes(ours.child.pid) - before;
  await stopChecked(ours.child, 'the footprint server');
  const dbAfter = databaseBytes(dataDir, DATABASE_FILE);
  results.footprint = { links, refreshes: links * rounds, writtenBytes, keptBytes: dbAfter - dbBefore, dbBefore, dbAfter };
  log(`footprint: ${(writtenBytes / (links * rounds)).toFixed(0)} B written and ${((dbAfter - dbBefore) / (links * rounds)).toFixed(0)} B kept per refresh`);
}

async function measureYear(results: Results): Promise<void> {
  results.year = await simulateYear(dir('year'), 10, YEAR_DAYS);
  log(
    `year: ${(results.year.afterYear.dbBytes / 2 ** 20).toFixed(1)} MiB + WAL ${(results.year.afterYear.walBytes / 2 ** 20).toFixed(1)} MiB after ${results.year.refreshes} refreshes (${results.year.seconds.toFixed(0)} s)`,
  );
}

function writeReport(results: Results): void {
  results.loads = rows;
  results.totalSeconds = (performance.now() - benchStarted) / 1000;
  const markdown = renderMarkdown(results);
  mkdirSync(join(ROOT, 'docs'), { recursive: true });
  writeFileSync(DOC, markdown);
  writeFileSync(
    join(ROOT, 'dist-bench', 'results.json'),
    `${JSON.stringify(results, (key, value: unknown) => (key === 'latencies' ? undefined : value), 2)}\n`,
  );
  process.stdout.write(`\n${renderConsole(results)}\n`);
  log(`wrote ${DOC} (raw figures: dist-bench/results.json)`);
}

async function main(): Promise<void> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first (npm run bench does)`);
  const results = describeRun();
  measureFsync(results);
  await measureStartup(results);
  const largeDb = seedLargeDatabase(results);
  const largeStarts = await largeStartups(largeDb);
  const servers = await startLoadServers(results, largeDb, largeStarts);
  await measureIdleRss(results, servers);
  const small = seedSmallDatabase(servers.ours);
  await countCommits(results, servers.ours, small);
  await measureLoad(results, servers, small, largeDb);
  await measureMemoryAfterLoad(results, servers, small);
  await stopLoadServers(servers);
  await measureSkillGuard(results);
  await measureMemoryWithGrants(results);
  await measureProfiles(results);
  await measureIdleSamples(results);
  await measureFootprint(results);
  await measureYear(results);
  writeReport(results);
}

// Whatever happens, the bench ends: after 15 minutes it stops every child and exits 1.
const WATCHDOG_MINUTES = 15;
setTimeout(() => {
  process.stderr.write(`bench: still running after ${WATCHDOG_MINUTES} minutes; giving up\n`);
  rmSync(tmpRoot, { recursive: true, force: true });
  process.exit(1); // the exit handler in lib/procs.ts kills every child still running
}, WATCHDOG_MINUTES * 60_000).unref();

/**
 * BENCH_ONLY=skill: the skill guard's rows alone. docs/benchmarks.md is a whole run's report and is
 * not touched; the figures go to dist-bench/results-skill.json, the section as the full run would
 * write it to dist-bench/benchmarks-skill.md.
 */
async function skillOnly(): Promise<void> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
  const results = describeRun();
  results.command = 'BENCH_ONLY=skill node dist-bench/bench/run.js';
  results.loads = rows;
  await measureSkillGuard(results);
  results.totalSeconds = (performance.now() - benchStarted) / 1000;
  writeFileSync(
    join(ROOT, 'dist-bench', 'results-skill.json'),
    `${JSON.stringify(results, (key, value: unknown) => (key === 'latencies' ? undefined : value), 2)}\n`,
  );
  writeFileSync(join(ROOT, 'dist-bench', 'benchmarks-skill.md'), `${renderSkillMarkdown(results).join('\n')}\n`);
  process.stdout.write(`\n${renderSkillConsole(results)}\n`);
  log('docs/benchmarks.md left as it was (a filtered run); figures in dist-bench/results-skill.json, the section in dist-bench/benchmarks-skill.md');
}

/** `--report-only`: render docs/benchmarks.md again from dist-bench/results.json (after changing the report's wording). */
async function reportOnly(): Promise<void> {
  const results = JSON.parse(readFileSync(join(ROOT, 'dist-bench', 'results.json'), 'utf8')) as Results;
  writeFileSync(DOC, renderMarkdown(results));
  process.stdout.write(`${renderConsole(results)}\nwrote ${DOC} from dist-bench/results.json\n`);
}

(process.argv.includes('--report-only') ? reportOnly() : ONLY === 'skill' ? skillOnly() : main())
  .then(() => {
    rmSync(tmpRoot, { recursive: true, force: true });
    process.exit(0);
  })
  .catch((error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    rmSync(tmpRoot, { recursive: true, force: true });
    process.exit(1);
  });

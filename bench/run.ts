/**
 * `npm run bench`: the server's throughput, latency, start-up time, memory and database growth,
 * each next to baselines measured in the same run on the same machine (see docs/benchmarks.md,
 * which this writes). Loopback only; every child process is stopped before it exits.
 *
 * BENCH_DURATION (measured seconds per row, taken in 4 round-robin slices; default 8) and
 * BENCH_QUICK=1 (2 s per row, 30-day year) exist for working on the bench itself; the documented
 * figures come from the defaults. `--report-only` re-renders the doc from dist-bench/results.json.
 * BENCH_ONLY=<part> runs one part alone and leaves docs/benchmarks.md alone; it writes
 * dist-bench/results-<part>.json and dist-bench/benchmarks-<part>.md:
 *   skill    the skill guard's rows (measureSkillGuard);
 *   compare  refresh and introspection at 1 and 16 connections against bare Express and the
 *            oidc-provider SQLite baselines, with and without the V8 flags, and their fsyncs;
 *   v8       the V8 settings table (measureV8Settings).
 */

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
  type CommitTally,
  type FlagSet,
  type GroupCommitCounts,
  type LoadRow,
  type OidcStore,
  type Results,
  renderCompareConsole,
  renderCompareMarkdown,
  renderConsole,
  renderMarkdown,
  renderSkillConsole,
  renderSkillMarkdown,
  renderV8Console,
  renderV8Markdown,
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
import { countFsyncs, straceAvailable } from './lib/strace.js';
import { V8_CANDIDATES } from './lib/v8-candidates.js';

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
/**
 * The V8 settings table's round robin: per candidate and call a 1 s warm-up and 3 s measured in
 * three slices, interleaved with the other candidates' (a few seconds each keeps the table within
 * about two minutes; its figures are coarser than the main table's).
 */
const V8_TIMING: Timing = { warmup: QUICK ? 0.5 : 1, rounds: QUICK ? 2 : 3, slice: QUICK ? 0.5 : 1 };
/** Each SQLite-backed row once more, this long, under strace (its throughput is not used). */
const STRACE_SECONDS = QUICK ? 0.5 : 1;
/** The parts BENCH_ONLY can select; unset: everything. */
const PARTS = ['skill', 'compare', 'v8'] as const;
const ONLY = process.env.BENCH_ONLY || undefined;
if (ONLY !== undefined && !(PARTS as readonly string[]).includes(ONLY)) {
  process.stderr.write(`bench: BENCH_ONLY=${ONLY} is not a part; the parts are: ${PARTS.join(', ')}\n`);
  process.exit(2);
}

const benchStarted = performance.now();
const log = (message: string): void => {
  process.stdout.write(`[${((performance.now() - benchStarted) / 1000).toFixed(0).padStart(3)} s] ${message}\n`);
};

/** The V8 flags a server runs with: the production ones (SERVER_NODE_FLAGS) or none at all. */
const nodeFlags = (flags: FlagSet): string[] => (flags === 'production' ? SERVER_NODE_FLAGS : []);

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
  /** When a load run of one of its refresh lineages last ended (see `slice`). */
  lineageGuard: LineageGuard;
}

/** Shared by the refresh rows that present the same lineages: when the last of their runs ended. */
interface LineageGuard {
  endedAt?: number;
}

/**
 * `probe`: true loads bench/servers/probe.ts with --expose-gc (memory readings after a forced GC,
 * and commit counts), 'counts' loads it without (commit counts only: no V8 flag added).
 * `extra`: more options for options.json and more environment (the skill guard's).
 * `v8Flags`: the V8 flags (default: the production ones).
 */
async function startOurs(
  dataDir: string,
  key: string,
  extraArgs: string[] = [],
  probe: boolean | 'counts' = false,
  extra: { options?: Record<string, unknown>; env?: Record<string, string> } = {},
  v8Flags: string[] = SERVER_NODE_FLAGS,
): Promise<Ours & { readyMs: number }> {
  const port = await freePort();
  const ingress = await freePort();
  writeOptions(dataDir, port, key, extra.options);
  const probeArgs = probe === true ? ['--expose-gc', '--import', PROBE] : probe === 'counts' ? ['--import', PROBE] : [];
  const child = start([...v8Flags, ...extraArgs, ...probeArgs, MAIN], {
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PUBLIC_PORT: String(port),
    INGRESS_PORT: String(ingress),
    INGRESS_TRUSTED_PROXIES: '127.0.0.1',
    ...extra.env,
  });
  const base = `http://127.0.0.1:${port}`;
  const readyMs = await waitReady(child, `${base}/healthz`);
  child.probed = probe === true;
  return { child, base, dataDir, key, requests: 0, rssSeries: [], readyMs, lineageGuard: {} };
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

/** The commit counts of a server started with the probe, without a forced GC (SIGWINCH, bench/servers/probe.ts). */
async function probeCounts(child: Child): Promise<CommitTally> {
  const before = child.output().split('COUNTS ').length;
  child.process.kill('SIGWINCH');
  for (let waited = 0; waited < 5000; waited += 5) {
    const parts = child.output().split('COUNTS ');
    if (parts.length > before && parts[parts.length - 1]!.includes('\n')) {
      const { writes, commits } = JSON.parse(parts[parts.length - 1]!.split('\n')[0]!) as { writes: number; commits: number };
      return { writes, commits, requests: 0 };
    }
    await sleep(5);
  }
  throw new Error('the probe did not answer with its counts');
}

/** Group commits between two probe readings. */
function commitsBetween(before: GroupCommitCounts, after: GroupCommitCounts): GroupCommitCounts {
  const sizes = new Map(after.sizes);
  for (const [size, count] of before.sizes) sizes.set(size, (sizes.get(size) ?? 0) - count);
  return { writes: after.writes - before.writes, commits: after.commits - before.commits, sizes: [...sizes].filter(([, count]) => count > 0) };
}

interface Server {
  child: Child;
  base: string;
}

/** Bare Express with the given V8 flags (default: the production ones). */
async function startExpress(v8Flags: string[] = SERVER_NODE_FLAGS): Promise<Server & { readyMs: number }> {
  const port = await freePort();
  const child = start([...v8Flags, EXPRESS], { PORT: String(port) });
  const base = `http://127.0.0.1:${port}`;
  const readyMs = await waitReady(child, `${base}/healthz`);
  return { child, base, readyMs };
}

interface OidcServer extends Server {
  store: OidcStore;
  flags: FlagSet;
  /** The SQLite file of the SQLite stores. */
  dbFile?: string;
}

/** oidc-provider (bench/servers/oidc-baseline.ts) on one of its stores. */
async function startOidc(store: OidcStore, flags: FlagSet): Promise<OidcServer> {
  const port = await freePort();
  const dbFile = store === 'memory' ? undefined : join(dir(`oidc-${store}-${flags}`), 'oidc.db');
  const child = start([...nodeFlags(flags), OIDC], {
    PORT: String(port),
    CLIENT_ID,
    CLIENT_SECRET,
    RS_SECRET,
    REDIRECT_URI,
    LINEAGES: '16',
    STORE: store,
    ...(dbFile ? { DB_FILE: dbFile } : {}),
  });
  const info = JSON.parse(await child.line('READY ')) as { port: number };
  return { child, base: `http://127.0.0.1:${info.port}`, store, flags, ...(dbFile ? { dbFile } : {}) };
}

/** The oidc-provider adapter's writes and commits so far (GET /bench/commits). */
async function oidcCounts(base: string): Promise<CommitTally> {
  const reply = await send(`${base}/bench/commits`);
  if (reply.status !== 200 || !reply.json) throw new Error(`oidc baseline /bench/commits: ${reply.status} ${reply.body}`);
  const { writes, commits } = reply.json as { writes: number; commits: number };
  return { writes, commits, requests: 0 };
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
  /** Refresh rows presenting lineages that outlive a slice (ours): the guard they share (see `slice`). */
  lineageGuard?: LineageGuard;
  /** The server's cumulative writes and commits (its own counter), read around each slice. */
  commits?: () => Promise<CommitTally>;
  /** Commits over the measured slices (warm-up left out), and the requests answered in them. */
  tally?: CommitTally;
  /** The server's pid, for strace. */
  pid?: number;
}

/** Timing of a round robin: warm-up seconds per scenario, rounds, seconds per slice. */
interface Timing {
  warmup: number;
  rounds: number;
  slice: number;
}

const MAIN_TIMING: Timing = { warmup: WARMUP, rounds: ROUNDS, slice: SLICE };

function logRow(row: Omit<LoadRow, 'result' | 'connections'>, connections: number, result: LoadResult, tally?: CommitTally): void {
  const label = `${row.target}${row.store ? ` ${row.store}` : ''}${row.flags === 'none' ? ' (no flags)' : ''}`;
  log(
    `${label.padEnd(36)} ${`${row.scenario}${row.database ? ' (large db)' : ''}`.padEnd(28)} c=${String(connections).padStart(2)}  ${result.rps.toFixed(0).padStart(6)} req/s  ` +
      `p50 ${result.p50.toFixed(2)} ms  p99 ${result.p99.toFixed(2)} ms  non-2xx ${result.non2xx}${result.errors ? `  errors ${result.errors}` : ''}` +
      `${tally ? `  commits/req ${(tally.commits / Math.max(1, tally.requests)).toFixed(3)}` : ''}` +
      `${result.stealPct !== undefined ? `  steal ${result.stealPct.toFixed(1)} %` : ''}${result.sampleError ? `  (${result.sampleError.slice(0, 120)})` : ''}`,
  );
}

/**
 * One load run of a scenario; with `commits`, also the server's writes and commits during it.
 * `around` wraps the load run alone (not `prepare`, not the counter readings): strace attaches there.
 */
async function slice(
  scenario: Scenario,
  seconds: number,
  around: (run: () => Promise<LoadResult>) => Promise<LoadResult> = (run) => run(),
): Promise<{ result: LoadResult; tally?: CommitTally }> {
  // A refresh cut off at the end of a slice had its token rotated, and its lineage presents that
  // token again, as Alexa does after a lost answer. Within the repeat window the server rightly
  // answers 429, so two slices on the same lineages (where the round robin turns, or the 1- and
  // 16-connection rows of one server) are kept apart: the window, plus a second for requests the
  // server finished after the load generator had stopped. (oidc-provider's rows get fresh lineages
  // for every slice.)
  const guard = scenario.lineageGuard;
  if (guard?.endedAt !== undefined) await sleep(guard.endedAt + (TUNABLES.oauth.refreshRepeatSeconds + 1) * 1000 - performance.now());
  const connection = await scenario.prepare(seconds);
  // Read after `prepare`: making oidc-provider's fresh tokens is a write too.
  const before = await scenario.commits?.();
  const result = await around(() =>
    load({ url: scenario.base, connections: scenario.connections, durationS: seconds, connection, overallRate: scenario.rate }),
  );
  if (guard) guard.endedAt = performance.now();
  const after = await scenario.commits?.();
  scenario.after?.();
  if (scenario.counter) scenario.counter.requests += result.requests;
  if (!before || !after) return { result };
  return { result, tally: { writes: after.writes - before.writes, commits: after.commits - before.commits, requests: result.requests } };
}

function addTally(scenario: Scenario, tally: CommitTally | undefined): void {
  if (!tally) return;
  const sum = scenario.tally ?? { writes: 0, commits: 0, requests: 0 };
  scenario.tally = { writes: sum.writes + tally.writes, commits: sum.commits + tally.commits, requests: sum.requests + tally.requests };
}

/**
 * Round robin: every scenario gets one warm-up, then `timing.rounds` slices of `timing.slice`
 * seconds, the scenarios taking turns (forward in even rounds, backward in odd ones). On a shared
 * machine whose load changes by the minute, every row then sees the same mix of quiet and busy
 * moments, so the ratios between rows hold even when the absolute numbers drift. Returns the rows,
 * in the order of `scenarios`.
 */
async function runRoundRobin(scenarios: Scenario[], onRound: (round: number) => Promise<void>, timing: Timing = MAIN_TIMING): Promise<LoadRow[]> {
  for (const scenario of scenarios) await slice(scenario, timing.warmup);
  log(`warm-up done (${scenarios.length} scenarios × ${timing.warmup} s); ${timing.rounds} rounds of ${timing.slice} s slices`);
  for (let round = 0; round < timing.rounds; round++) {
    const order = round % 2 === 0 ? scenarios : [...scenarios].reverse();
    for (const scenario of order) {
      const { result, tally } = await slice(scenario, timing.slice);
      scenario.slices.push(result);
      addTally(scenario, tally);
    }
    await onRound(round);
    log(`round ${round + 1}/${timing.rounds} done`);
  }
  return scenarios.map((scenario) => {
    const result = mergeResults(scenario.slices);
    logRow(scenario.row, scenario.connections, result, scenario.tally);
    return { ...scenario.row, connections: scenario.connections, result, ...(scenario.tally ? { commits: scenario.tally } : {}) };
  });
}

/**
 * Each scenario with a pid once more, for STRACE_SECONDS, with strace attached to its server
 * (bench/lib/strace.ts): fsync and fdatasync calls per request, beside the server's own commit
 * count in the same run. ptrace slows the traced server, so nothing else is taken from these runs.
 */
async function straceRuns(scenarios: Scenario[], measured: LoadRow[]): Promise<void> {
  for (const [i, scenario] of scenarios.entries()) {
    const pid = scenario.pid;
    if (pid === undefined) continue;
    let counts = { fsync: 0, fdatasync: 0 };
    const value = await slice(scenario, STRACE_SECONDS, async (run) => {
      // Detached only once the requests the load generator cut off at its end have been answered
      // (and committed): the counter is read after this too.
      const traced = await countFsyncs(pid, async () => {
        const result = await run();
        await sleep(250);
        return result;
      });
      counts = traced.counts;
      return traced.value;
    });
    const row = measured[i]!;
    row.strace = {
      seconds: STRACE_SECONDS,
      requests: value.result.requests,
      rps: value.result.rps,
      non2xx: value.result.non2xx,
      fsync: counts.fsync,
      fdatasync: counts.fdatasync,
      ...(value.tally ? { commits: value.tally.commits } : {}),
    };
    log(
      `strace ${row.target}${row.store ? ` ${row.store}` : ''}${row.flags === 'none' ? ' (no flags)' : ''} ${row.scenario}${row.database ? ' (large db)' : ''} c=${row.connections}: ` +
        `${counts.fsync} fsync + ${counts.fdatasync} fdatasync for ${value.result.requests} requests` +
        `${value.tally ? ` (${value.tally.commits} commits counted)` : ''}`,
    );
  }
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
    settings: { durationS: DURATION, warmupS: WARMUP, rounds: ROUNDS, quick: QUICK, straceSeconds: STRACE_SECONDS },
    flags: [...SERVER_NODE_FLAGS],
    strace: { ok: false, reason: 'not checked' },
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
  /** Bare Express with the production V8 flags (like with like), and without any (the memory targets' reference). */
  express: Server;
  expressBare: Server;
  oidc: OidcServer[];
  /** The main server (100 grants), production flags, with the probe (memory after a forced GC, commit counts). */
  ours: Ours;
  /** The same without any V8 flag, with the probe's commit counts only. */
  oursBare: Ours;
  /** The 100,000-grant server (whole runs only). */
  large?: Ours;
}

/** oidc-provider's variants: both SQLite stores with and without flags; the in-memory one (whole runs) with them. */
function oidcVariants(full: boolean): Array<{ store: OidcStore; flags: FlagSet }> {
  return [
    { store: 'sqlite-group', flags: 'production' },
    { store: 'sqlite-group', flags: 'none' },
    { store: 'sqlite-autocommit', flags: 'production' },
    { store: 'sqlite-autocommit', flags: 'none' },
    ...(full ? [{ store: 'memory' as const, flags: 'production' as const }] : []),
  ];
}

/** 4. The servers for the load runs; `large` only in a whole run (its third start is timed here). */
async function startLoadServers(results: Results, large?: { db: LargeDatabase; starts: number[] }): Promise<LoadServers> {
  // The large server first: its start is timed, with no other server just started beside it.
  const largeServer = large ? await startOurs(large.db.dir, large.db.key, [], 'counts') : undefined;
  const express = await startExpress();
  const expressBare = await startExpress([]);
  const oidc: OidcServer[] = [];
  for (const variant of oidcVariants(large !== undefined)) oidc.push(await startOidc(variant.store, variant.flags));
  // The main server carries the probe (bench/servers/probe.ts) for the memory series and the commit
  // counts; it only acts on SIGUSR2 and SIGWINCH. The others load it for the counts alone.
  const ours = await startOurs(dir('main'), generateFernetKey(), [], true);
  const oursBare = await startOurs(dir('main-bare'), generateFernetKey(), [], 'counts', {}, []);
  if (!large || !largeServer) return { express, expressBare, oidc, ours, oursBare };
  large.starts.push(largeServer.readyMs);
  results.startup.oursLarge = large.starts;
  return { express, expressBare, oidc, ours, oursBare, large: largeServer };
}

/** Every load server with the name the memory table gives it. */
function namedServers(servers: LoadServers): Array<{ name: string; flags: FlagSet; child: Child; requests?: () => number }> {
  const { ours, oursBare, large, express, expressBare, oidc } = servers;
  return [
    { name: 'alexa-link', flags: 'production', child: ours.child, requests: () => ours.requests },
    { name: 'alexa-link', flags: 'none', child: oursBare.child, requests: () => oursBare.requests },
    ...(large
      ? [{ name: `alexa-link, ${LARGE_GRANTS.toLocaleString('en')} grants`, flags: 'production' as const, child: large.child, requests: () => large.requests }]
      : []),
    { name: 'express', flags: 'production', child: express.child },
    { name: 'express', flags: 'none', child: expressBare.child },
    ...oidc.map((o) => ({ name: `oidc-provider, ${o.store}`, flags: o.flags, child: o.child })),
  ];
}

async function measureIdleRss(results: Results, servers: LoadServers): Promise<void> {
  const list = namedServers(servers);
  const readings = await Promise.all(list.map(({ child }) => idleRssMiB(child.pid)));
  const idleOf = (child: Child): { idle: number; first: number } => readings[list.findIndex((entry) => entry.child === child)]!;
  const group = servers.oidc.find((o) => o.store === 'sqlite-group' && o.flags === 'production')!;
  results.rss = {
    oursIdle: idleOf(servers.ours.child).idle,
    oursIdleFirst: idleOf(servers.ours.child).first,
    expressIdle: idleOf(servers.expressBare.child).idle,
    oidcIdle: idleOf(group.child).idle,
    largeIdle: servers.large ? idleOf(servers.large.child).idle : Number.NaN,
    servers: list.map((entry, i) => ({ name: entry.name, flags: entry.flags, idle: readings[i]!.idle, idleFirst: readings[i]!.first })),
  } as Results['rss'];
  log(`idle RSS: ${results.rss.servers.map((entry) => `${entry.name}${entry.flags === 'none' ? ' (no flags)' : ''} ${entry.idle.toFixed(1)}`).join(', ')} MiB`);
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
    row: { target: 'alexa-link', scenario: 'authorization_code', method: 'POST', kind: 'code', flags: 'production' },
    base: codes.base,
    connections: c,
    commits: () => probeCounts(codes.child),
    pid: codes.child.pid,
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

/** What only a whole run adds to the load table: the code exchanges' server, the large database. */
interface WholeRun {
  largeDb: LargeDatabase;
  codes: Ours;
  codeStore: Store;
  poolStats: Map<number, PoolStats>;
}

/**
 * Every row of the load table, in the order the round robin runs them. `bare` is the main server's
 * twin without V8 flags, with its own database. Without `whole` (BENCH_ONLY=compare): only the rows
 * the targets compare (refresh and introspection of Alexa Link and oidc-provider's SQLite stores,
 * bare Express's form POST), each with and without the flags.
 */
function loadScenarios(servers: LoadServers, small: SmallDatabase, bare: SmallDatabase, whole?: WholeRun): Scenario[] {
  const scenarios: Scenario[] = [];
  const add = (scenario: Omit<Scenario, 'slices'>): void => void scenarios.push({ ...scenario, slices: [] });
  const flagSets: FlagSet[] = ['production', 'none'];
  const oursOf = (flags: FlagSet): { server: Ours; db: SmallDatabase } =>
    flags === 'production' ? { server: servers.ours, db: small } : { server: servers.oursBare, db: bare };
  const counted = (o: Ours): Pick<Scenario, 'commits' | 'pid' | 'counter'> => ({ commits: () => probeCounts(o.child), pid: o.child.pid, counter: o });
  const oidcOf = (store: OidcStore, flags: FlagSet): OidcServer => servers.oidc.find((o) => o.store === store && o.flags === flags)!;
  const oidcCounted = (o: OidcServer): Pick<Scenario, 'commits' | 'pid'> =>
    o.store === 'memory' ? { commits: () => oidcCounts(o.base) } : { commits: () => oidcCounts(o.base), pid: o.child.pid };
  // oidc-provider's tokens are made right before each slice: its in-memory adapter evicts idle
  // entries, and with rotation a request cut off at the end of a slice leaves a consumed token.
  const oidcIntrospect = (o: OidcServer, c: number): void =>
    add({
      row: { target: 'oidc-provider', scenario: 'introspection', method: 'POST', kind: 'introspect', flags: o.flags, store: o.store },
      base: o.base,
      connections: c,
      ...oidcCounted(o),
      prepare: async () => introspectScript('/token/introspection', (await oidcMake<{ accessToken: string }>(o.base, '/bench/access-token')).accessToken),
    });
  const oidcRefresh = (o: OidcServer, c: number): void =>
    add({
      row: { target: 'oidc-provider', scenario: 'refresh_token grant', method: 'POST', kind: 'refresh', flags: o.flags, store: o.store },
      base: o.base,
      connections: c,
      ...oidcCounted(o),
      prepare: async () => refreshScript('/token', alexaAuth, (await oidcMake<{ refreshTokens: string[] }>(o.base, `/bench/lineages?n=${c}`)).refreshTokens),
    });
  for (const c of [1, 16]) {
    if (whole) {
      add({
        row: { target: 'express', scenario: 'GET constant JSON', method: 'GET', kind: 'baseline', flags: 'production' },
        base: servers.express.base,
        connections: c,
        prepare: () => getScript('/json'),
      });
    }
    for (const flags of flagSets) {
      add({
        row: { target: 'express', scenario: 'POST form → JSON', method: 'POST', kind: 'baseline', flags },
        base: flags === 'production' ? servers.express.base : servers.expressBare.base,
        connections: c,
        prepare: () => formScript('/form'),
      });
    }
    if (whole) {
      add({
        row: { target: 'alexa-link', scenario: 'metadata (RFC 8414)', method: 'GET', kind: 'metadata', flags: 'production' },
        base: servers.ours.base,
        connections: c,
        ...counted(servers.ours),
        prepare: () => getScript('/.well-known/oauth-authorization-server'),
      });
    }
    for (const flags of flagSets) {
      const { server, db } = oursOf(flags);
      add({
        row: { target: 'alexa-link', scenario: 'introspection', method: 'POST', kind: 'introspect', flags },
        base: server.base,
        connections: c,
        ...counted(server),
        prepare: () => introspectScript('/introspect', db.introspectToken),
      });
    }
    for (const flags of flagSets) oidcIntrospect(oidcOf('sqlite-group', flags), c);
    if (whole) {
      oidcIntrospect(oidcOf('memory', 'production'), c);
      oidcRefresh(oidcOf('memory', 'production'), c);
    }
    for (const store of ['sqlite-autocommit', 'sqlite-group'] as const) for (const flags of flagSets) oidcRefresh(oidcOf(store, flags), c);
    for (const flags of flagSets) {
      const { server, db } = oursOf(flags);
      add({
        row: { target: 'alexa-link', scenario: 'refresh_token grant', method: 'POST', kind: 'refresh', flags },
        base: server.base,
        connections: c,
        ...counted(server),
        lineageGuard: server.lineageGuard,
        prepare: () => refreshScript('/token', alexaAuth, db.lineages),
      });
    }
    if (whole) {
      // Codes are single use and live 60 s in the server: seed a fresh pool (valid 10 min) right before each slice.
      const stats = { seeded: 0, seedSeconds: 0, left: 0, exhausted: 0 };
      whole.poolStats.set(c, stats);
      add(codeScenario(c, whole.codes, whole.codeStore, stats, scenarios));
    }
  }
  if (whole && servers.large) {
    const large = servers.large;
    const largeLabel = `${LARGE_GRANTS.toLocaleString('en')} grants`;
    add({
      row: { target: 'alexa-link', scenario: 'introspection', method: 'POST', kind: 'introspect', database: largeLabel, flags: 'production' },
      base: large.base,
      connections: 16,
      ...counted(large),
      prepare: () => introspectScript('/introspect', whole.largeDb.access),
    });
    add({
      row: { target: 'alexa-link', scenario: 'refresh_token grant', method: 'POST', kind: 'refresh', database: largeLabel, flags: 'production' },
      base: large.base,
      connections: 16,
      ...counted(large),
      lineageGuard: large.lineageGuard,
      prepare: () => refreshScript('/token', alexaAuth, whole.largeDb.lineages),
    });
  }
  return scenarios;
}

/**
 * 7. Load runs, round robin (see runRoundRobin), then each SQLite-backed row once more under
 *    strace. Code exchanges go to a third server with its own database: each creates a grant, and
 *    the main database must keep its 100 grants. Without `largeDb` (BENCH_ONLY=compare), only the
 *    compared rows.
 */
async function measureLoad(results: Results, servers: LoadServers, small: SmallDatabase, bare: SmallDatabase, largeDb?: LargeDatabase): Promise<void> {
  const { ours } = servers;
  let whole: WholeRun | undefined;
  if (largeDb) {
    const codes = await startOurs(dir('codes'), generateFernetKey(), [], 'counts');
    whole = { largeDb, codes, codeStore: openStore(codes.dataDir, codes.key), poolStats: new Map() };
  }
  const scenarios = loadScenarios(servers, small, bare, whole);
  const measured = await runRoundRobin(scenarios, async (round) => {
    ours.rssSeries.push({ after: `round ${round + 1} of ${ROUNDS}`, requests: ours.requests, ...(await memoryPoint(ours.child)) });
  });
  if (results.strace.ok) await straceRuns(scenarios, measured);
  rows.push(...measured);
  if (!whole) return;
  results.codePools = [...whole.poolStats.entries()].map(([connections, stats]) => ({ connections, ...stats }));
  for (const [c, stats] of whole.poolStats) if (stats.exhausted > 0) log(`WARNING: the code pool for ${c} conn. ran dry ${stats.exhausted} times`);
  whole.codeStore.close();
  await stopChecked(whole.codes.child, 'alexa-link (codes)');
}

/** What oidc-provider's SQLite stores hold after the runs: rows per model, and the files' size. */
async function oidcDatabases(results: Results, servers: LoadServers): Promise<void> {
  results.oidcDatabases = [];
  for (const o of servers.oidc) {
    if (!o.dbFile) continue;
    const reply = await send(`${o.base}/bench/rows`);
    if (reply.status !== 200 || !reply.json) throw new Error(`oidc baseline /bench/rows: ${reply.status} ${reply.body}`);
    const bytes = [o.dbFile, `${o.dbFile}-wal`].reduce((sum, file) => sum + (existsSync(file) ? statSync(file).size : 0), 0);
    results.oidcDatabases.push({ store: o.store, flags: o.flags, rows: reply.json as Record<string, number>, bytes });
  }
}

/** 8. Memory after ≥ 100,000 requests (the runs above, topped up with introspection if short). */
async function measureMemoryAfterLoad(results: Results, servers: LoadServers, small: SmallDatabase): Promise<void> {
  const { ours, large, expressBare, oidc } = servers;
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
  results.rss.largeAfterRequests = large ? rssMiB(large.child.pid) : Number.NaN;
  results.rss.largeRequests = large?.requests ?? 0;
  results.rss.expressAfter = rssMiB(expressBare.child.pid);
  results.rss.oidcAfter = rssMiB(oidc.find((o) => o.store === 'sqlite-group' && o.flags === 'production')!.child.pid);
  const list = namedServers(servers);
  for (const [i, entry] of results.rss.servers.entries()) {
    const server = list[i]!;
    entry.after = server.child === ours.child ? results.rss.oursAfterRequests : rssMiB(server.child.pid);
    if (server.requests) entry.requests = server.requests();
  }
  await oidcDatabases(results, servers);
  results.mainDatabase = { grants: countRows(store, 'grants'), tokens: countRows(store, 'refresh_tokens'), auditEvents: countRows(store, 'audit_events') };
  log(`RSS after ${ours.requests} requests: ${results.rss.oursAfterRequests.toFixed(1)} MiB`);
  store.close();
}

async function stopLoadServers(servers: LoadServers): Promise<void> {
  await stopChecked(servers.ours.child, 'alexa-link');
  await stopChecked(servers.oursBare.child, 'alexa-link (no flags)');
  if (servers.large) await stopChecked(servers.large.child, 'alexa-link (large)');
  await stopChecked(servers.express.child, 'express baseline');
  await stopChecked(servers.expressBare.child, 'express baseline (no flags)');
  for (const o of servers.oidc) await stopChecked(o.child, `oidc-provider baseline (${o.store}, ${o.flags} flags)`);
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
  const child = start([...SERVER_NODE_FLAGS, SKILL_BACKEND], { PORT: String(port) });
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

/**
 * 11. The V8 settings table (bench/lib/v8-candidates.ts): every candidate a fresh Alexa Link with
 * its own small database (17 links, seeded before it starts), and a fresh bare Express started the
 * ordinary way (no flags) beside them. Their idle RSS is read together (`idleRssMiB`, nothing sent
 * to them), then each candidate answers refresh and introspection at 16 connections and Express the
 * form POST, round robin with V8_TIMING, then their RSS after that load is read.
 * With `samples`, the footprint's idle samples (three servers with the production flags, three bare
 * Express apps without flags) are started with them and idle in the same 25 s.
 */
async function measureV8Settings(results: Results, samples: boolean): Promise<void> {
  const candidates: Array<{ name: string; flags: string[]; server: Ours; lineages: string[]; access: string }> = [];
  for (const [i, candidate] of V8_CANDIDATES.entries()) {
    const dataDir = dir(`v8-${i}`);
    const key = generateFernetKey();
    const store = openStore(dataDir, key);
    const linked = linkMany(store, 17, 0);
    store.close();
    const server = await startOurs(dataDir, key, [], false, {}, candidate.flags);
    candidates.push({ ...candidate, server, lineages: linked.slice(0, 16).map((l) => l.refreshToken), access: linked[16]!.accessToken });
  }
  const express = await startExpress([]);
  const sampleServers = samples ? await Promise.all([0, 1, 2].map((i) => startOurs(dir(`idle-${i}`), generateFernetKey()))) : [];
  const sampleExpress = samples ? await Promise.all([0, 1, 2].map(() => startExpress([]))) : [];
  const idleChildren = [...candidates.map((c) => c.server.child), express.child, ...sampleServers.map((s) => s.child), ...sampleExpress.map((s) => s.child)];
  const idle = await Promise.all(idleChildren.map((child) => idleRssMiB(child.pid)));
  if (samples) {
    const offset = candidates.length + 1;
    results.idleSamples = { ours: idle.slice(offset, offset + 3).map((r) => r.idle), express: idle.slice(offset + 3).map((r) => r.idle) };
    await Promise.all([
      ...sampleServers.map(({ child }) => stopChecked(child, 'an idle server')),
      ...sampleExpress.map(({ child }) => stopChecked(child, 'an idle Express')),
    ]);
    log(
      `idle RSS samples: alexa-link ${results.idleSamples.ours.map((v) => v.toFixed(1)).join(', ')}; express ${results.idleSamples.express.map((v) => v.toFixed(1)).join(', ')} MiB`,
    );
  }
  log(
    `V8 settings, idle RSS: ${candidates.map((c, i) => `${c.name} ${idle[i]!.idle.toFixed(1)}`).join('; ')}; express ${idle[candidates.length]!.idle.toFixed(1)} MiB`,
  );
  const scenarios: Scenario[] = [
    ...candidates.flatMap((c): Scenario[] => [
      {
        row: { target: 'alexa-link', scenario: `refresh_token grant, ${c.name}`, method: 'POST', kind: 'refresh' },
        base: c.server.base,
        connections: 16,
        counter: c.server,
        lineageGuard: c.server.lineageGuard,
        prepare: () => refreshScript('/token', alexaAuth, c.lineages),
        slices: [],
      },
      {
        row: { target: 'alexa-link', scenario: `introspection, ${c.name}`, method: 'POST', kind: 'introspect' },
        base: c.server.base,
        connections: 16,
        counter: c.server,
        prepare: () => introspectScript('/introspect', c.access),
        slices: [],
      },
    ]),
    {
      row: { target: 'express', scenario: 'POST form → JSON', method: 'POST', kind: 'baseline', flags: 'none' },
      base: express.base,
      connections: 16,
      prepare: () => formScript('/form'),
      slices: [],
    },
  ];
  const measured = await runRoundRobin(scenarios, async () => undefined, V8_TIMING);
  const expressAfter = rssMiB(express.child.pid);
  results.v8 = {
    timing: V8_TIMING,
    express: { idle: idle[candidates.length]!.idle, after: expressAfter, post: measured[measured.length - 1]!.result },
    candidates: candidates.map((c, i) => ({
      name: c.name,
      flags: c.flags,
      idle: idle[i]!.idle,
      after: rssMiB(c.server.child.pid),
      requests: c.server.requests,
      refresh: measured[2 * i]!.result,
      introspect: measured[2 * i + 1]!.result,
    })),
  };
  for (const c of candidates) await stopChecked(c.server.child, `alexa-link (${c.name})`);
  await stopChecked(express.child, 'express baseline (V8 settings)');
  for (const c of results.v8.candidates) {
    log(
      `V8 ${c.name}: idle ${c.idle.toFixed(1)} MiB, after load ${c.after.toFixed(1)} MiB, refresh ${c.refresh.rps.toFixed(0)}/s, introspection ${c.introspect.rps.toFixed(0)}/s`,
    );
  }
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

/** 12. A simulated year of hourly refreshes for 10 accounts, pruned daily. */
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
  results.strace = await straceAvailable();
  log(results.strace.ok ? 'strace can attach: fsyncs are counted' : `strace cannot attach (${results.strace.reason}): commit counts only`);
  measureFsync(results);
  await measureStartup(results);
  const largeDb = seedLargeDatabase(results);
  const largeStarts = await largeStartups(largeDb);
  const servers = await startLoadServers(results, { db: largeDb, starts: largeStarts });
  await measureIdleRss(results, servers);
  const small = seedSmallDatabase(servers.ours);
  const bare = seedSmallDatabase(servers.oursBare);
  bare.store.close();
  await countCommits(results, servers.ours, small);
  await measureLoad(results, servers, small, bare, largeDb);
  await measureMemoryAfterLoad(results, servers, small);
  await stopLoadServers(servers);
  await measureSkillGuard(results);
  await measureMemoryWithGrants(results);
  await measureProfiles(results);
  await measureV8Settings(results, true);
  await measureFootprint(results);
  await measureYear(results);
  writeReport(results);
}

// Whatever happens, the bench ends: after 15 minutes it stops every child and exits 1.
const WATCHDOG_MINUTES = 25;
setTimeout(() => {
  process.stderr.write(`bench: still running after ${WATCHDOG_MINUTES} minutes; giving up\n`);
  rmSync(tmpRoot, { recursive: true, force: true });
  process.exit(1); // the exit handler in lib/procs.ts kills every child still running
}, WATCHDOG_MINUTES * 60_000).unref();

/**
 * BENCH_ONLY=<part>: docs/benchmarks.md is a whole run's report and is not touched; the figures go
 * to dist-bench/results-<part>.json, the part's section as the whole run would write it to
 * dist-bench/benchmarks-<part>.md.
 */
function writePart(part: (typeof PARTS)[number], results: Results, markdown: string[], console: string): void {
  results.loads = rows;
  results.totalSeconds = (performance.now() - benchStarted) / 1000;
  mkdirSync(join(ROOT, 'dist-bench'), { recursive: true });
  writeFileSync(
    join(ROOT, 'dist-bench', `results-${part}.json`),
    `${JSON.stringify(results, (key, value: unknown) => (key === 'latencies' ? undefined : value), 2)}\n`,
  );
  writeFileSync(join(ROOT, 'dist-bench', `benchmarks-${part}.md`), `${markdown.join('\n')}\n`);
  process.stdout.write(`\n${console}\n`);
  log(`docs/benchmarks.md left as it was (a partial run); figures in dist-bench/results-${part}.json, the section in dist-bench/benchmarks-${part}.md`);
}

async function partOnly(part: (typeof PARTS)[number]): Promise<void> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
  const results = describeRun();
  results.command = `BENCH_ONLY=${part} node dist-bench/bench/run.js`;
  results.loads = rows;
  if (part === 'skill') {
    await measureSkillGuard(results);
    writePart(part, results, renderSkillMarkdown(results), renderSkillConsole(results));
  } else if (part === 'compare') {
    results.strace = await straceAvailable();
    log(results.strace.ok ? 'strace can attach: fsyncs are counted' : `strace cannot attach (${results.strace.reason}): commit counts only`);
    const servers = await startLoadServers(results);
    const small = seedSmallDatabase(servers.ours);
    const bare = seedSmallDatabase(servers.oursBare);
    bare.store.close();
    await measureLoad(results, servers, small, bare);
    await oidcDatabases(results, servers);
    small.store.close();
    await stopLoadServers(servers);
    writePart(part, results, renderCompareMarkdown(results), renderCompareConsole(results));
  } else {
    await measureV8Settings(results, false);
    writePart(part, results, renderV8Markdown(results), renderV8Console(results));
  }
}

/** `--report-only`: render docs/benchmarks.md again from dist-bench/results.json (after changing the report's wording). */
async function reportOnly(): Promise<void> {
  const results = JSON.parse(readFileSync(join(ROOT, 'dist-bench', 'results.json'), 'utf8')) as Results;
  writeFileSync(DOC, renderMarkdown(results));
  process.stdout.write(`${renderConsole(results)}\nwrote ${DOC} from dist-bench/results.json\n`);
}

(process.argv.includes('--report-only') ? reportOnly() : ONLY !== undefined ? partOnly(ONLY as (typeof PARTS)[number]) : main())
  .then(() => {
    rmSync(tmpRoot, { recursive: true, force: true });
    process.exit(0);
  })
  .catch((error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    rmSync(tmpRoot, { recursive: true, force: true });
    process.exit(1);
  });

/** The console table and docs/benchmarks.md, from one run's figures. */

import { SERVER_NODE_FLAGS } from '../../test/helpers/server-process.js';
import type { YearResult } from './dbsize.js';
import type { FootprintResult } from './footprint.js';
import type { FsyncResult } from './fsync.js';
import type { LoadResult } from './load.js';
import { IDLE_SECONDS, median } from './procs.js';
import type { ProfileSummary } from './profile.js';

export type Kind = 'baseline' | 'metadata' | 'introspect' | 'refresh' | 'code' | 'skill';

/** The V8 flags a server ran with: the production ones (SERVER_NODE_FLAGS) or none. */
export type FlagSet = 'production' | 'none';

/** oidc-provider's stores (bench/servers/oidc-baseline.ts). */
export type OidcStore = 'sqlite-group' | 'sqlite-autocommit' | 'memory';

/** A server's own count of its writes and commits over some runs, and the requests answered in them. */
export interface CommitTally {
  writes: number;
  commits: number;
  requests: number;
}

export interface LoadRow {
  target: 'alexa-link' | 'express' | 'oidc-provider' | 'skill backend';
  scenario: string;
  method: 'GET' | 'POST';
  kind: Kind;
  /** Set for runs against the large database. */
  database?: string;
  /** Unset: production (rows of runs that had no choice). */
  flags?: FlagSet;
  /** oidc-provider's rows. */
  store?: OidcStore;
  connections: number;
  result: LoadResult;
  /** The server's own counter over the measured slices (Alexa Link: the probe; oidc-provider: its adapter). */
  commits?: CommitTally;
  /** The same call once more under strace (bench/lib/strace.ts); its throughput is not comparable. */
  strace?: { seconds: number; requests: number; rps: number; non2xx: number; fsync: number; fdatasync: number; commits?: number };
}

/** The V8 settings table (bench/lib/v8-candidates.ts). */
export interface V8Result {
  timing: { warmup: number; rounds: number; slice: number };
  /** The fresh bare Express without flags beside the candidates: idle and after-load RSS (MiB), its form POST at 16 conn. */
  express: { idle: number; after: number; post: LoadResult };
  candidates: Array<{
    name: string;
    flags: string[];
    idle: number;
    after: number;
    requests: number;
    refresh: LoadResult;
    introspect: LoadResult;
  }>;
}

/** Token writes and the commits they shared (src/store/group-commit.ts), counted by bench/servers/probe.ts. */
export interface GroupCommitCounts {
  writes: number;
  commits: number;
  /** [writes in one commit, how many commits had that many]. */
  sizes: Array<[number, number]>;
}

/** A CPU profile of a fresh server under one load run, summarized. */
export type ProfiledRun = ProfileSummary & { rps: number; non2xx: number; file: string; loadMs: number };

/** The skill guard's rows: the same signed request straight to the skill backend and through POST /skill. */
export interface SkillResult {
  /** The target's connections (16), for `direct` and `guard`. */
  connections: number;
  /** Runs per row: the warm-up and the slices. */
  runs: number;
  /**
   * Requests the load generator may cut off at the end of its runs on one side (straight to the
   * backend, or through the guard): the side's connections (16 + 1) × runs. The server still
   * forwards them, and their answers are not counted.
   */
  maxCutOff: number;
  direct: LoadResult;
  guard: LoadResult;
  /** The same at 1 connection, for information: the guard's cost per request without queueing. */
  single?: { direct: LoadResult; guard: LoadResult };
  /** The same at 16 connections sharing a steady `rate` (requests per second): below saturation. */
  paced?: { rate: number; direct: LoadResult; guard: LoadResult };
  /**
   * Answers the load generator got over all runs (warm-ups included), and how many of them were not
   * 200 with the backend's body byte for byte; `sample` is the first such answer.
   */
  answers: { direct: number; guard: number; directWrong: number; guardWrong: number; sample?: string | undefined };
  /** What reached the backend over the same runs: with the guard's identity headers (forwarded), and without (direct). */
  backend: { forwarded: number; direct: number };
  /** Chain downloads by the server over everything, the request that warmed the cache included. */
  chainDownloads: number;
  profile?: ProfiledRun;
}

export interface Results {
  command: string;
  code: { commit: string; changedSrc: string[]; srcHash: string };
  date: string;
  machine: { node: string; cpuCount: number; cpuModel: string; kernel: string; memoryGiB: number; loadAverageAtStart: number[] };
  settings: { durationS: number; warmupS: number; rounds: number; quick: boolean; straceSeconds: number };
  /** SERVER_NODE_FLAGS when this ran: the production flags. */
  flags: string[];
  /** Whether strace could attach to the servers (else: commit counts only). */
  strace: { ok: boolean; reason?: string };
  fsync: FsyncResult;
  startup: { ours: number[]; express: number[]; oursLarge: number[] };
  seeding: { grants: number; tokens: number; seconds: number; openMs: number[]; pruneMs: number[] };
  rss: {
    /** Idle RSS (bench/lib/procs.ts idleRssMiB); `oursIdleFirst` is the reading right after ready. */
    oursIdle: number;
    oursIdleFirst: number;
    expressIdle: number;
    oidcIdle: number;
    largeIdle: number;
    oursAfterRequests: number;
    requests: number;
    largeAfterRequests: number;
    largeRequests: number;
    expressAfter: number;
    oidcAfter: number;
    memoryServer: { idle: number; grants: number; seeded: number; touched: number; touchedGrants: number };
    series: Array<{ after: string; requests: number; rss: number; heapAfterGc?: number; rssAfterGc?: number }>;
    /** Every load server: idle (and right after ready), after the load runs, requests sent to it (ours). */
    servers: Array<{ name: string; flags: FlagSet; idle: number; idleFirst: number; after?: number; requests?: number }>;
  };
  commits: { refresh: number; code: number; introspect: number; metadata: number };
  loads: LoadRow[];
  codePools: Array<{ connections: number; seeded: number; seedSeconds: number; left: number; exhausted: number }>;
  mainDatabase: { grants: number; tokens: number; auditEvents: number };
  profiles: Record<'refresh' | 'introspect', ProfiledRun & { groupCommit: GroupCommitCounts }>;
  year: YearResult;
  footprint?: FootprintResult;
  /** Idle RSS (MiB) of three fresh servers (production flags) and three bare Express apps (no flags) started together. */
  idleSamples?: { ours: number[]; express: number[] };
  /** Absent in runs from before the skill guard. */
  skill?: SkillResult;
  /** What oidc-provider's SQLite stores held after the runs: rows per model's table, bytes of the file and its WAL. */
  oidcDatabases?: Array<{ store: OidcStore; flags: FlagSet; rows: Record<string, number>; bytes: number }>;
  v8?: V8Result;
  totalSeconds: number;
}

// ---------------------------------------------------------------------------------------------

const f0 = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en') : '–');
const f1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '–');
const f2 = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : '–');
const ratio = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? '' : `${n.toFixed(2)}×`);
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(2)} MiB`;

const flagsOf = (row: LoadRow): FlagSet => row.flags ?? 'production';

/** The bare Express row of the same method, connections and V8 flags. */
function expressRef(results: Results, row: LoadRow): LoadRow | undefined {
  return results.loads.find((r) => r.target === 'express' && r.method === row.method && r.connections === row.connections && flagsOf(r) === flagsOf(row));
}

/** oidc-provider's SQLite group-commit row of the same call, connections and V8 flags. */
function oidcRef(results: Results, row: LoadRow): LoadRow | undefined {
  if (row.kind !== 'refresh' && row.kind !== 'introspect') return undefined;
  return oidcRow(results, row.kind, row.connections, 'sqlite-group', flagsOf(row));
}

function oidcRow(results: Results, kind: Kind, connections: number, store: OidcStore, flags: FlagSet = 'production'): LoadRow | undefined {
  return results.loads.find(
    (r) => r.target === 'oidc-provider' && r.store === store && r.kind === kind && r.connections === connections && flagsOf(r) === flags,
  );
}

function ours(results: Results, kind: Kind, connections: number, large = false, flags: FlagSet = 'production'): LoadRow | undefined {
  return results.loads.find(
    (r) => r.target === 'alexa-link' && r.kind === kind && r.connections === connections && Boolean(r.database) === large && flagsOf(r) === flags,
  );
}

/** Per request, with three decimals below 0.1 (0.078 commits per refresh). */
function perRequest(count: number, requests: number): string {
  if (requests === 0) return '–';
  const value = count / requests;
  return value === 0 ? '0' : value < 0.1 ? value.toFixed(3) : value.toFixed(2);
}

const commitsPerRequest = (row: LoadRow): number | undefined =>
  row.commits && row.commits.requests > 0 ? row.commits.commits / row.commits.requests : undefined;
const straceCalls = (row: LoadRow): number | undefined => (row.strace ? row.strace.fsync + row.strace.fdatasync : undefined);

/** A note for a measured value within 15 % of its threshold, on either side. */
function closeCall(value: number, threshold: number): string {
  return Math.abs(value / threshold - 1) < 0.15 ? ' (within 15 % of the threshold: expect it to flip between runs on a noisy machine)' : '';
}

const storeName = (store: OidcStore | undefined): string =>
  store === 'memory' ? 'in memory' : store === 'sqlite-autocommit' ? 'SQLite, commit per write' : 'SQLite, group commit';

interface Target {
  name: string;
  measured: string;
  threshold: string;
  met: boolean;
}

/**
 * The targets against the equal-work baselines, like with like (production V8 flags on both sides):
 * each only when its rows were measured (BENCH_ONLY=compare measures them all).
 */
export function comparisonTargets(results: Results): Target[] {
  const list: Target[] = [];
  for (const c of [1, 16]) {
    const refresh = ours(results, 'refresh', c);
    const base = refresh && oidcRow(results, 'refresh', c, 'sqlite-group');
    if (!refresh || !base) continue;
    const r = refresh.result.rps / base.result.rps;
    list.push({
      name: `refresh throughput vs oidc-provider SQLite (group commit, rotation on), ${c} conn.`,
      measured: `${f0(refresh.result.rps)} vs ${f0(base.result.rps)} req/s = ${ratio(r)}${closeCall(r, 1)}`,
      threshold: '≥ 1.00×',
      met: r >= 1,
    });
  }
  for (const c of [1, 16]) {
    const intro = ours(results, 'introspect', c);
    const base = intro && oidcRow(results, 'introspect', c, 'sqlite-group');
    if (!intro || !base) continue;
    const r = intro.result.rps / base.result.rps;
    list.push({
      name: `introspection throughput vs oidc-provider SQLite, ${c} conn.`,
      measured: `${f0(intro.result.rps)} vs ${f0(base.result.rps)} req/s = ${ratio(r)}${closeCall(r, 0.9)}`,
      threshold: '≥ 0.90×',
      met: r >= 0.9,
    });
  }
  for (const c of [1, 16]) {
    const intro = ours(results, 'introspect', c);
    const base = intro && expressRef(results, intro);
    if (!intro || !base) continue;
    const r = intro.result.rps / base.result.rps;
    list.push({
      name: `introspection throughput vs bare Express (POST form → JSON), ${c} conn.`,
      measured: `${f0(intro.result.rps)} vs ${f0(base.result.rps)} req/s = ${ratio(r)}${closeCall(r, 0.6)}`,
      threshold: '≥ 0.60×',
      met: r >= 0.6,
    });
  }
  for (const [kind, limit] of [
    ['refresh', 15],
    ['introspect', 10],
  ] as const) {
    const row = ours(results, kind, 16);
    if (!row) continue;
    list.push({
      name: `${row.scenario} p99 at 16 conn.`,
      measured: `${f2(row.result.p99)} ms${closeCall(row.result.p99, limit)}`,
      threshold: `≤ ${limit} ms`,
      met: row.result.p99 <= limit,
    });
  }
  for (const c of [1, 16]) {
    const row = ours(results, 'refresh', c);
    const perCommit = row && commitsPerRequest(row);
    if (!row?.commits || perCommit === undefined) continue;
    const calls = straceCalls(row);
    const traced =
      row.strace && calls !== undefined
        ? `; strace, a separate ${f1(row.strace.seconds)} s run: ${perRequest(calls, row.strace.requests)} fsync calls per refresh (${f0(calls)} for ${f0(row.strace.requests)}, WAL checkpoints included)`
        : results.strace.ok
          ? ''
          : `; strace could not attach here (${results.strace.reason})`;
    list.push({
      name: c === 1 ? 'fsyncs per sequential refresh (1 conn.)' : 'fsyncs per refresh at 16 conn.',
      measured: `${perRequest(row.commits.commits, row.commits.requests)} commits per refresh (${f0(row.commits.commits)} for ${f0(row.commits.requests)} refreshes in the measured slices; one fsync each)${traced}`,
      threshold: c === 1 ? '1' : '≤ 0.10',
      met: c === 1 ? perCommit >= 0.95 && perCommit <= 1.05 : perCommit <= 0.1,
    });
  }
  return list;
}

/** Memory against bare Express started the ordinary way (no flags). */
function memoryTargets(results: Results): Target[] {
  const list: Target[] = [];
  const samples = results.idleSamples;
  if (samples) {
    const oursIdle = median(samples.ours);
    const expressIdle = median(samples.express);
    const r = oursIdle / expressIdle;
    list.push({
      name: 'idle RSS vs bare Express without flags (medians of three fresh processes each)',
      measured: `${f1(oursIdle)} vs ${f1(expressIdle)} MiB = ${ratio(r)}${closeCall(r, 1.15)}`,
      threshold: '≤ 1.15×',
      met: r <= 1.15,
    });
  }
  if (results.rss?.oursAfterRequests !== undefined && results.rss.expressAfter !== undefined) {
    const r = results.rss.oursAfterRequests / results.rss.expressAfter;
    list.push({
      name: 'RSS after the load runs vs bare Express without flags after its runs',
      measured: `${f1(results.rss.oursAfterRequests)} vs ${f1(results.rss.expressAfter)} MiB = ${ratio(r)}${closeCall(r, 1.3)}`,
      threshold: '≤ 1.30×',
      met: r <= 1.3,
    });
  }
  return list;
}

export function targets(results: Results): Target[] {
  const list: Target[] = [];
  const oauth16 = (['refresh', 'code', 'introspect', 'metadata'] as const).map((kind) => ours(results, kind, 16)!);
  const worst = oauth16.reduce((a, b) => (b.result.p99 > a.result.p99 ? b : a));
  const large16 = (['refresh', 'introspect'] as const).map((kind) => ours(results, kind, 16, true)!);
  list.push({
    name: 'p99 of every OAuth call at 16 connections (100-grant database)',
    measured:
      oauth16.map((r) => `${r.scenario} ${f2(r.result.p99)} ms`).join('; ') +
      ` (worst: ${worst.scenario}${worst.result.p99 >= 0.85 * 50 && worst.result.p99 < 50 ? ', within 15 % of the threshold: expect it to flip between runs on a noisy machine' : ''}); ` +
      `for information, with 100,000 grants: ${large16.map((r) => `${r.scenario} ${f2(r.result.p99)} ms`).join(', ')}`,
    threshold: '< 50 ms',
    met: oauth16.every((r) => r.result.p99 < 50),
  });
  list.push(...comparisonTargets(results), ...memoryTargets(results));
  list.push({
    name: 'idle RSS of the server',
    measured: `${f1(results.rss.oursIdle)} MiB = ${f1(results.rss.oursIdle * 1.048576)} MB (another fresh server: ${f1(results.rss.memoryServer.idle)} MiB = ${f1(results.rss.memoryServer.idle * 1.048576)} MB)`,
    threshold: '< 80 MB',
    met: Math.max(results.rss.oursIdle, results.rss.memoryServer.idle) * 1.048576 < 80,
  });
  const ready = median(results.startup.ours);
  list.push({ name: 'process start → first 200 from /healthz (median of 5)', measured: `${f0(ready)} ms`, threshold: '< 1,500 ms', met: ready < 1500 });
  for (const kind of ['refresh', 'introspect'] as const) {
    const small = ours(results, kind, 16)!;
    const large = ours(results, kind, 16, true)!;
    const r = large.result.p99 / small.result.p99;
    list.push({
      name: `${small.scenario} p99 at 16 conn., 100,000 vs 100 grants`,
      measured: `${f2(large.result.p99)} vs ${f2(small.result.p99)} ms = ${ratio(r)}`,
      threshold: '≤ 1.50×',
      met: r <= 1.5,
    });
  }
  return [...list, ...skillTargets(results)];
}

/** Why the skill rows do not count, if they do not: the guard refused, answered for the backend, or lost requests. */
function skillProblems(s: SkillResult): string[] {
  const problems: string[] = [];
  const cutOff = s.maxCutOff;
  const sample = s.answers.sample ? ` (first: ${s.answers.sample.slice(0, 120)})` : '';
  for (const [name, r] of [
    ['through the guard', s.guard],
    ['straight to the backend', s.direct],
    ['through the guard, 1 conn.', s.single?.guard],
    ['straight to the backend, 1 conn.', s.single?.direct],
    ['through the guard, paced', s.paced?.guard],
    ['straight to the backend, paced', s.paced?.direct],
  ] as const) {
    if (!r) continue;
    if (r.non2xx || r.errors || r.timeouts) problems.push(`${name}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
  }
  if (s.answers.guardWrong) problems.push(`${f0(s.answers.guardWrong)} of ${f0(s.answers.guard)} answers through the guard were not the backend's${sample}`);
  if (s.answers.directWrong) problems.push(`${f0(s.answers.directWrong)} of ${f0(s.answers.direct)} answers of the backend were not its answer${sample}`);
  if (s.backend.forwarded < s.answers.guard || s.backend.forwarded > s.answers.guard + cutOff)
    problems.push(`the backend received ${f0(s.backend.forwarded)} forwarded requests for ${f0(s.answers.guard)} answers through the guard`);
  if (s.backend.direct < s.answers.direct || s.backend.direct > s.answers.direct + cutOff)
    problems.push(`the backend received ${f0(s.backend.direct)} direct requests for ${f0(s.answers.direct)} answers`);
  if (s.chainDownloads !== 1) problems.push(`the certificate chain was downloaded ${s.chainDownloads} times, not once`);
  return problems;
}

export function skillTargets(results: Results): Target[] {
  const s = results.skill;
  if (!s) return [];
  const problems = skillProblems(s);
  const valid = problems.length === 0;
  const caveat = valid ? '' : ' (the run is not valid: next row)';
  // The latency targets are judged at a steady rate below saturation: "adds at most" is the guard's
  // own cost per request. As fast as 16 connections go, the rows measure requests queueing behind
  // a busier process (the skill table and the text below show them, for information).
  return [
    ...(s.paced
      ? (['p50', 'p99'] as const).map((p) => {
          const paced = s.paced!;
          const extra = paced.guard[p] - paced.direct[p];
          return {
            name: `skill guard: latency added at ${p} (${s.connections} conn. sharing a steady ${f0(paced.rate)} req/s, below saturation)`,
            measured: `${f2(paced.guard[p])} − ${f2(paced.direct[p])} ms = ${f2(extra)} ms${caveat}`,
            threshold: p === 'p50' ? '≤ 2 ms' : '≤ 5 ms',
            met: valid && extra <= (p === 'p50' ? 2 : 5),
          };
        })
      : []),
    {
      name: 'skill guard: every request verified and forwarded, the chain downloaded once',
      measured: valid
        ? `${f0(s.answers.guard)} answers through the guard, all 200 with the backend's body; the backend received ${f0(s.backend.forwarded)} forwarded ` +
          `(${f0(s.backend.forwarded - s.answers.guard)} more: cut off by the load generator at the end of a run); 1 chain download`
        : problems.join('; '),
      threshold: 'all 200 with the backend’s answer, each one received by the backend',
      met: valid,
    },
  ];
}

function loadTable(results: Results): string[] {
  const lines = [
    '| server | V8 flags | scenario | store | conn. | req/s | req/s ×Express | req/s ×oidc-provider SQLite | p50 ms | p99 ms | p99 ×Express | p99 ×oidc-provider SQLite | commits/req | fsyncs/req (strace) | non-2xx | CPU steal % |',
    '| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of results.loads) {
    const e = expressRef(results, row);
    const o = oidcRef(results, row);
    const r = row.result;
    const store =
      row.target === 'alexa-link'
        ? `SQLite, ${row.database ?? (row.kind === 'code' ? 'its own (+1 grant per exchange)' : '100 grants')}`
        : row.target === 'express'
          ? '–'
          : storeName(row.store);
    const calls = straceCalls(row);
    lines.push(
      `| ${row.target} | ${flagsOf(row)} | ${row.scenario} | ${store} | ${row.connections} | ${f0(r.rps)} | ${ratio(e && r.rps / e.result.rps)} | ${ratio(o && r.rps / o.result.rps)} | ` +
        `${f2(r.p50)} | ${f2(r.p99)} | ${ratio(e && r.p99 / e.result.p99)} | ${ratio(o && r.p99 / o.result.p99)} | ` +
        `${row.commits ? perRequest(row.commits.commits, row.commits.requests) : '–'} | ${calls !== undefined && row.strace ? perRequest(calls, row.strace.requests) : ''} | ` +
        `${r.non2xx}${r.errors ? ` (+${r.errors} errors)` : ''} | ${r.stealPct === undefined ? '' : f1(r.stealPct)} |`,
    );
  }
  return lines;
}

function targetTable(results: Results, list: Target[] = targets(results)): string[] {
  return [
    '| target | measured | threshold | result |',
    '| --- | --- | --- | --- |',
    ...list.map((t) => `| ${t.name} | ${t.measured} | ${t.threshold} | ${t.met ? '**met**' : '**NOT met**'} |`),
  ];
}

export function renderConsole(results: Results): string {
  return [
    ...loadTable(results),
    '',
    ...(results.skill ? [...skillTable(results.skill), ''] : []),
    ...(results.v8 ? [...v8Table(results.v8), ''] : []),
    ...targetTable(results),
  ].join('\n');
}

function skillTable(s: SkillResult): string[] {
  const plus = (n: number): string => `${n >= 0 ? '+' : '−'}${f2(Math.abs(n))}`;
  const rows = (connections: number, direct: LoadResult, guard: LoadResult, target = false): string[] => {
    const row = (name: string, r: LoadResult): string =>
      `| ${name} | ${connections} | ${f0(r.rps)} | ${f2(r.p50)} | ${f2(r.p90)} | ${f2(r.p99)} | ${f2(r.max)} | ${r.non2xx}${r.errors ? ` (+${r.errors} errors)` : ''} | ${r.stealPct === undefined ? '' : f1(r.stealPct)} |`;
    return [
      row('signed LaunchRequest straight to the skill backend', direct),
      row('the same through Alexa Link (POST /skill → backend)', guard),
      `| **added by the guard**${target ? ' (the target)' : ' (for information)'} | ${connections} | ${ratio(guard.rps / direct.rps)} | ` +
        `**${plus(guard.p50 - direct.p50)}** | ${plus(guard.p90 - direct.p90)} | **${plus(guard.p99 - direct.p99)}** | ${plus(guard.max - direct.max)} | | |`,
    ];
  };
  return [
    '| skill request | conn. | req/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx | CPU steal % |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows(s.connections, s.direct, s.guard),
    ...(s.single ? rows(1, s.single.direct, s.single.guard) : []),
    ...(s.paced
      ? rows(s.connections, s.paced.direct, s.paced.guard).map((line) => line.replace(/^\| ([^|]+) \| (\d+) \|/, `| $1, ${f0(s.paced!.rate)}/s | $2 |`))
      : []),
  ];
}

/** BENCH_ONLY=skill: the skill rows and their targets alone. */
export function renderSkillConsole(results: Results): string {
  if (!results.skill) return 'no skill guard figures';
  return [...skillTable(results.skill), '', ...targetTable(results, skillTargets(results))].join('\n');
}

/** The V8 settings table: Alexa Link under each candidate (bench/lib/v8-candidates.ts) against a fresh bare Express without flags. */
function v8Table(v: V8Result): string[] {
  const e = v.express;
  return [
    '| candidate | flags | idle RSS MiB | ×Express | RSS after load MiB | ×Express | refresh req/s, 16 conn. | ×Express POST | introspection req/s, 16 conn. | ×Express POST | non-2xx |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...v.candidates.map(
      (c) =>
        `| ${c.name} | ${c.flags.length ? `\`${c.flags.join(' ')}\`` : '(none)'} | ${f1(c.idle)} | ${ratio(c.idle / e.idle)} | ${f1(c.after)} | ${ratio(c.after / e.after)} | ` +
        `${f0(c.refresh.rps)} | ${ratio(c.refresh.rps / e.post.rps)} | ${f0(c.introspect.rps)} | ${ratio(c.introspect.rps / e.post.rps)} | ${c.refresh.non2xx + c.introspect.non2xx} |`,
    ),
    `| bare Express, no flags (the reference) | (none) | ${f1(e.idle)} | 1.00× | ${f1(e.after)} | 1.00× | POST form → JSON: ${f0(e.post.rps)} | 1.00× | | | ${e.post.non2xx} |`,
  ];
}

export function renderV8Markdown(results: Results): string[] {
  const v = results.v8;
  if (!v) return [];
  const measured = v.timing.rounds * v.timing.slice;
  const best = (pick: (c: V8Result['candidates'][number]) => number, low: boolean): string => {
    const sorted = [...v.candidates].sort((a, b) => (low ? pick(a) - pick(b) : pick(b) - pick(a)));
    return sorted[0]!.name;
  };
  return [
    '## V8 settings',
    '',
    'Alexa Link under each candidate setting (the list is `bench/lib/v8-candidates.ts`, derived from SERVER_NODE_FLAGS): a fresh',
    'server each, with a small database of its own (17 links, seeded before it starts), and a fresh bare Express started the',
    'ordinary way (no flags) beside them. Idle RSS read for all of them together, 25 s after they were ready with nothing sent',
    `(\`idleRssMiB\`, as above); then refresh and introspection at 16 connections for every candidate and the form POST for Express,`,
    `round robin as the main table but short: a ${f1(v.timing.warmup)} s warm-up and ${f1(measured)} s measured per call in ${v.timing.rounds} slices of ${f1(v.timing.slice)} s; then`,
    "the RSS after that load (each candidate's own refresh and introspection runs, warm-ups included). The figures are coarser",
    "than the main table's (a few seconds per call); compare the candidates with each other, in this run.",
    '',
    ...v8Table(v),
    '',
    `Lowest idle RSS: ${best((c) => c.idle, true)}; lowest RSS after load: ${best((c) => c.after, true)}; most refreshes: ${best((c) => c.refresh.rps, false)};`,
    `most introspections: ${best((c) => c.introspect.rps, false)}. The memory targets above compare with bare Express without flags: idle ≤ 1.15×,`,
    'after load ≤ 1.30×.',
    '',
  ];
}

export function renderV8Console(results: Results): string {
  return results.v8 ? v8Table(results.v8).join('\n') : 'no V8 settings figures';
}

/** BENCH_ONLY=compare: the compared rows, their targets, the flags side by side and the fsyncs. */
export function renderCompareMarkdown(results: Results): string[] {
  return [
    '## Equal-work comparison (BENCH_ONLY=compare)',
    '',
    `Measured ${results.date} with \`${results.command}\` (${f0(results.totalSeconds)} s); code: commit \`${results.code.commit}\`${results.code.changedSrc.length ? ' plus uncommitted changes in src/' : ''}.`,
    `Machine: Node ${results.machine.node}, ${results.machine.cpuCount} CPUs; ${results.settings.warmupS} s warm-up and ${results.settings.durationS} s measured per row in ${results.settings.rounds} slices.`,
    '',
    ...targetTable(results, comparisonTargets(results)),
    '',
    ...loadTable(results),
    '',
    ...oidcNotes(results),
    '',
    ...renderFlagsComparison(results),
    ...renderFsyncs(results),
  ];
}

export function renderCompareConsole(results: Results): string {
  return [...loadTable(results), '', ...targetTable(results, comparisonTargets(results))].join('\n');
}

// ---------------------------------------------------------------------------------------------

const areaShare = (profile: ProfileSummary, name: string): number => profile.areas.find((a) => a.name === name)?.pctBusy ?? 0;
const topShare = (profile: ProfileSummary, test: (name: string) => boolean): number =>
  profile.top.filter((t) => test(t.name)).reduce((sum, t) => sum + t.pctBusy, 0);

function profileTables(title: string, p: ProfiledRun): string[] {
  return [
    `### ${title}`,
    '',
    `16 connections, ${f0(p.rps)} req/s while profiled, ${p.non2xx} non-2xx. ${p.windowed ? 'Counted from the start of the load (start-up left out): ' : 'Whole process, start-up included: '}` +
      `the process was busy ${f0(p.busyMs)} ms of ${f0(p.wallMs)} ms (${f0((100 * p.busyMs) / p.wallMs)} %; the load lasted ${f0(p.loadMs)} ms, the rest is shutdown).`,
    `Raw profile: \`${p.file}\` (Chrome DevTools → Performance, or VS Code).`,
    '',
    '| area (self time) | ms | % of busy |',
    '| --- | ---: | ---: |',
    ...p.areas.map((a) => `| ${a.name} | ${f0(a.selfMs)} | ${f1(a.pctBusy)} |`),
    '',
    '| function (self time) | ms | % of busy |',
    '| --- | ---: | ---: |',
    ...p.top.map((t) => `| \`${t.name.replace(/\|/g, '\\|')}\` | ${f0(t.selfMs)} | ${f1(t.pctBusy)} |`),
    '',
  ];
}

function memoryVerdict(series: Results['rss']['series']): string[] {
  const heaps = series.map((s) => s.heapAfterGc).filter((h): h is number => h !== undefined);
  const rssValues = series.map((s) => s.rss);
  if (heaps.length < 3) return [`RSS ranged ${f1(Math.min(...rssValues))}–${f1(Math.max(...rssValues))} MiB over the runs (no probe readings).`];
  const first = heaps[0]!;
  const last = heaps[heaps.length - 1]!;
  const requests = series[series.length - 1]!.requests - series[0]!.requests;
  const growth = last - first;
  return growth > 10
    ? [
        `**The JS heap after a forced GC grew from ${f1(first)} to ${f1(last)} MiB over ${f0(requests)} requests: something is retained per request.** ` +
          'Take a heap snapshot of the server under load to find it.',
      ]
    : [
        `RSS under load sits well above idle (${f1(Math.min(...rssValues))}–${f1(Math.max(...rssValues))} MiB), but the JS heap after a forced GC stays at ` +
          `${f1(Math.min(...heaps))}–${f1(Math.max(...heaps))} MiB from the first round to the last (${f0(requests)} requests later): nothing accumulates. ` +
          'The RSS is V8 keeping the larger heap it grew under allocation pressure (its new space doubles its two semi-spaces, up to ' +
          '`--max-semi-space-size`, while the allocation rate is high) and the allocator keeping freed pages; a forced GC gives part of it back (last column).',
      ];
}

// docs/benchmarks.md, one function per section in the order they appear.

// V8 charges time inside better-sqlite3's native methods to the JavaScript function that called
// them: the group's COMMIT (and its fsync) to GroupCommit.settle.
const isCommit = (n: string): boolean => n.startsWith('settle dist/store/group-commit.js');

/** Figures derived from the commit costs and the profiles that more than one section quotes. */
interface Figures {
  /** One single-row commit with synchronous=FULL, ms. */
  fullMs: number;
  /** What the commits of one refresh cost if none are shared, ms, and the refresh rate that allows. */
  refreshFsyncMs: number;
  ceiling: number;
  /** Share of the refresh profile's busy time spent in COMMITs (%), their total ms, and per refresh. */
  commitShare: number;
  commitMs: number;
  commitMsPerRefresh: number;
  perCommit: number;
  sessionShareIntro: number;
  sessionShareRefresh: number;
  prepareShare: number;
}

function figures(results: Results): Figures {
  const c = results.commits;
  const pr = results.profiles.refresh;
  const pi = results.profiles.introspect;
  const fullMs = results.fsync.full.medianUs / 1000;
  const refreshFsyncMs = c.refresh * fullMs;
  const commitMs = pr.top.filter((t) => isCommit(t.name)).reduce((sum, t) => sum + t.selfMs, 0);
  const gc = pr.groupCommit;
  return {
    fullMs,
    refreshFsyncMs,
    ceiling: 1000 / refreshFsyncMs,
    commitShare: topShare(pr, isCommit) + (c.refresh > 1 ? topShare(pr, (n) => n.startsWith('record dist/store/audit.js')) : 0),
    commitMs,
    commitMsPerRefresh: commitMs / Math.max(1, gc.writes),
    perCommit: gc.writes / Math.max(1, gc.commits),
    sessionShareIntro: areaShare(pi, 'express-session'),
    sessionShareRefresh: areaShare(pr, 'express-session'),
    prepareShare: Math.max(
      topShare(pr, (n) => n.startsWith('prepare better-sqlite3')),
      topShare(pi, (n) => n.startsWith('prepare better-sqlite3')),
    ),
  };
}

function renderHeader(results: Results): string[] {
  const m = results.machine;
  return [
    '# Benchmarks',
    '',
    '<!-- Written by `npm run bench` (bench/run.ts): change the bench, not this file. -->',
    '',
    `Measured ${results.date} with \`${results.command}\` (whole run ${f0(results.totalSeconds)} s).`,
    `Code measured: commit \`${results.code.commit}\`${results.code.changedSrc.length ? ` plus uncommitted changes in ${results.code.changedSrc.map((f) => `\`${f}\``).join(', ')}` : ', src/ unchanged'} (hash of src/*.ts \`${results.code.srcHash}\`).`,
    '',
    `Machine: Node ${m.node}, ${m.cpuCount} CPUs (\`os.cpus()[0].model\`: \`${m.cpuModel}\`), Linux ${m.kernel}, ${f1(m.memoryGiB)} GiB RAM;`,
    `load average at start ${m.loadAverageAtStart.map((l) => l.toFixed(2)).join(' / ')}.`,
    '',
    'The machine is shared and noisy, so every figure also appears as a ratio against a baseline measured in the same run,',
    "minutes apart, with the same load generator on the same loopback: a bare Express 5 app (one form POST answered with JSON) and panva's",
    '`oidc-provider` v9 doing the same work durably: a SQLite adapter (WAL, synchronous=FULL, every write committed on its own or',
    'the writes of an event-loop turn and the next sharing one commit) and refresh-token rotation on; its in-memory adapter for information.',
    'Compare ratios across machines and runs, not absolute numbers. The load generator (autocannon) runs in the bench process',
    'and competes for the same CPUs as the server: on 2 cores, one each.',
    `Every Node server here runs with Alexa Link's V8 flags (\`${results.flags.join(' ')}\`, SERVER_NODE_FLAGS in`,
    'test/helpers/server-process.ts, as run.sh and `npm start`); the compared rows run a second time on twins started without any',
    'flag. Ratios compare like with like (the same flags on both sides), except the memory targets, which compare with bare',
    'Express started the ordinary way, without flags.',
    results.settings.quick ? '\n**This was a quick run (BENCH_QUICK=1): short runs and a 30-day "year". Do not quote these figures.**\n' : '',
  ];
}

function renderTargets(results: Results): string[] {
  return ['## Targets', '', ...targetTable(results), ''];
}

function renderLatencyTable(results: Results): string[] {
  return [
    '## Throughput and latency',
    '',
    `autocannon (programmatic API), pipelining 1. Every row gets a ${results.settings.warmupS} s warm-up (discarded), then ${results.settings.durationS} s of measurement taken as`,
    `${results.settings.rounds} slices of ${f1(results.settings.durationS / results.settings.rounds)} s: in each round every row runs one slice in turn (the order reversed every other round), so all rows`,
    'share the quiet and the busy moments of the machine alike; a row\'s figures pool its slices. "CPU steal" is the share of CPU',
    "time the hypervisor gave to other guests during the row's slices (/proc/stat), a direct measure of the noise.",
    "Latency is taken per response from autocannon's own timer in fractional milliseconds (its histogram keeps whole ms);",
    'p50/p99 are over 2xx responses; every non-2xx is counted in its column and must be 0.',
    '"×Express" compares with the bare Express row of the same method, connection count and V8 flags (GET: constant JSON; POST: a',
    'form body of the size of a refresh request, parsed, answered with JSON); "×oidc-provider SQLite" with oidc-provider\'s',
    'SQLite group-commit row of the same call, connection count and flags.',
    '"commits/req": commits counted by the server itself over the measured slices, per request answered (Alexa Link: the bench',
    "preload `bench/servers/probe.ts` counts its group commits; oidc-provider: its SQLite adapter's own count); in WAL mode with",
    'synchronous=FULL each commit is one fsync of the WAL. "fsyncs/req (strace)": fsync and fdatasync calls of the server',
    `process during one more run of the same row (${f1(results.settings.straceSeconds)} s, strace attached: ptrace slows the server, so that run gives no`,
    results.strace.ok
      ? 'throughput), WAL checkpoints included; see "Durable commits" below.'
      : `throughput). **strace could not attach on this machine (${results.strace.reason})**: commit counts only.`,
    '',
    ...loadTable(results),
    '',
  ];
}

/** What each row does: ours, oidc-provider's, and what makes the work still unequal. */
function oidcNotes(results: Results): string[] {
  const dbs = results.oidcDatabases ?? [];
  const grown = dbs.find((d) => d.store === 'sqlite-group' && d.flags === 'production');
  const refreshGroup1 = oidcRow(results, 'refresh', 1, 'sqlite-group');
  const writes1 = refreshGroup1?.commits ? refreshGroup1.commits.writes / Math.max(1, refreshGroup1.commits.requests) : undefined;
  return [
    '- **oidc-provider**: the same refresh and introspection calls against `/token` and `/token/introspection`, one confidential',
    '  client with `client_secret_basic` like Alexa, the resource server `music_assistant` with HTTP Basic. Its tokens are made',
    '  through its models (Grant, RefreshToken, AccessToken) right before each slice, with scope `offline_access music_assistant`',
    '  and no `openid`, so no ID token is signed (ours signs none); fresh lineages for every slice (a request cut off at the',
    '  end of a slice leaves its lineage holding a consumed token, which oidc-provider rightly treats as reuse and revokes).',
    '  **It rotates refresh tokens** (`rotateRefreshToken: () => true`; its default rotates for public clients only, and for',
    '  confidential ones once 70 % of the lifetime has passed, so it returned the same token on every refresh): each refresh',
    '  consumes the token presented, saves its successor and saves a new access token.',
    '  - **SQLite** (`bench/servers/oidc-sqlite-adapter.ts`): one row per model instance, a table per model (id, payload JSON,',
    "    expiry, grant id, user code, uid, consumed; indexes on the lookup columns), WAL, synchronous=FULL, as Alexa Link's",
    '    database. **Commit per write**: every adapter write (upsert, consume, destroy, revokeByGrantId) is one statement that',
    '    commits on its own. **Group commit**: the writes of an event-loop turn and the next share one transaction, committed in a',
    "    setImmediate of a setImmediate; each write's promise resolves only after that COMMIT, so no answer leaves before its writes are on disk",
    '    (as `src/store/group-commit.ts`). Introspection writes nothing, so it runs against the group-commit process only.',
    '  - **In memory**: its default adapter, an LRU of 1,000 entries in a JavaScript Map, rotating as well; for information.',
    '  What still differs, all of it in how oidc-provider is built:',
    `  - its three writes of a refresh are awaited one after the other, so each can wait for its own commit: alone (1 conn.)`,
    `    a refresh makes 3 commits where ours makes 1${writes1 !== undefined ? ` (measured: ${f1(writes1)} adapter writes per refresh)` : ''}; under load its group commit shares them across requests;`,
    '  - it stores every access token as a row (ours are not rows: a MAC over grant and generation) and keeps consumed refresh',
    `    tokens until they expire, so its tables grow by two rows per refresh${
      grown
        ? ` (${Object.entries(grown.rows)
            .map(([model, n]) => `${model} ${f0(n)}`)
            .join(', ')} rows, ${mib(grown.bytes)} with its WAL, after the runs of the group-commit process)`
        : ''
    };`,
    "    ours inserts the successor's row, deletes the retired ones, updates the grant and counts the refresh in the",
    "    day's audit row, all in the same commit, so its tables do not grow with refreshes;",
    "  - its adapter's reads run inside the open group and see its uncommitted writes; ours runs a refresh's reads and writes",
    '    in one savepoint of the group, and any other use of the connection commits the group first;',
    '  - Koa and its own middleware versus node:http (our protocol endpoints are answered ahead of Express), per-IP limits behind a',
    '    trusted proxy and the rest of ours.',
    '  (oidc-provider 9 warns that Node 20 is not a supported runtime for it; it ran without errors.)',
  ];
}

function renderRowNotes(results: Results): string[] {
  const refresh16 = ours(results, 'refresh', 16)!;
  const intro16 = ours(results, 'introspect', 16)!;
  return [
    'What each row does:',
    '',
    '- **refresh_token grant**: each connection keeps its own token lineage (one linked grant per connection) and presents the',
    '  refresh token returned by its previous response, as Alexa does. So every request confirms a successor, retires its parent,',
    '  issues a new access and refresh token and records an audit event. A request cut off at the end of a slice leaves its',
    '  lineage holding a token that was just rotated; presented again within 2 s it would be answered 429 (the repeat window,',
    '  docs/development.md "Refresh-token rotation"), so two slices on the same lineages (where the round robin turns, and the 1-',
    '  and 16-connection rows of one server) start at least 3 s apart (the window, plus a second for requests the server finished',
    '  after the load generator had stopped).',
    '- **authorization_code**: one fresh code per request, seeded through the store right before the run (valid 10 minutes here',
    `  instead of 60 s), with PKCE S256; a fresh pool right before each slice. Codes seeded in all: ${results.codePools.map((pool) => `${f0(pool.seeded)} for ${pool.connections} conn. in ${f1(pool.seedSeconds)} s (${f0(pool.left)} unused)`).join(', ')}.`,
    '  Each exchange creates a grant, so these rows run against a third server with its own database, and the main one keeps',
    '  its 100 grants.',
    '- **introspection**: one valid access token, client `music_assistant` with HTTP Basic.',
    '- **metadata**: `GET /.well-known/oauth-authorization-server`.',
    ...oidcNotes(results),
    '- Our server runs as `node <V8 flags> dist/main.js`, options.json in a temp DATA_DIR (log_level warning, HOST 127.0.0.1, free',
    '  ports, synchronous=FULL as always), with `trusted_proxies: [127.0.0.1]`; every request carries an `X-Forwarded-For` from 4,096',
    '  addresses of 198.18.0.0/15 (RFC 2544), so the per-IP limit (300 token/revoke/introspect calls per minute per client IP)',
    '  runs on every request as in production, without turning the run into 429s. Its twin without flags has its own database,',
    '  seeded the same way.',
    '- **V8 flags**: `production` is SERVER_NODE_FLAGS for every server (bare Express and oidc-provider included); `none` is a',
    "  twin process started with no flag at all (Alexa Link's twin still preloads the probe with `--import`, a Node option",
    '  that counts its commits and changes nothing in V8).',
    '',
    `In a closed loop with 16 connections, mean latency ≈ 16 / throughput (Little's law): refresh ${f0(refresh16.result.rps)} req/s →`,
    `≈ ${f1((16 / refresh16.result.rps) * 1000)} ms, introspection ${f0(intro16.result.rps)} req/s → ≈ ${f1((16 / intro16.result.rps) * 1000)} ms. The server handles one request at a time`,
    '(one JavaScript thread, synchronous SQLite), so at 16 connections the latency is mostly queueing, and p99 < 50 ms needs',
    'a throughput well above 16 / 50 ms = 320 req/s with little variance. For scale: one linked Alexa account refreshes about',
    'once an hour.',
    '',
  ];
}

/** The compared rows side by side, with the production flags and without any. */
function renderFlagsComparison(results: Results): string[] {
  const lines: string[] = [];
  const line = (call: string, c: number, name: string, prod: LoadRow | undefined, none: LoadRow | undefined): void => {
    if (!prod || !none) return;
    lines.push(
      `| ${call} | ${c} | ${name} | ${f0(prod.result.rps)} | ${f2(prod.result.p99)} | ${f0(none.result.rps)} | ${f2(none.result.p99)} | ` +
        `${ratio(none.result.rps / prod.result.rps)} | ${ratio(none.result.p99 / prod.result.p99)} |`,
    );
  };
  for (const c of [1, 16]) {
    for (const kind of ['refresh', 'introspect'] as const) {
      const call = kind === 'refresh' ? 'refresh_token grant' : 'introspection';
      line(call, c, 'alexa-link', ours(results, kind, c), ours(results, kind, c, false, 'none'));
      for (const store of ['sqlite-group', 'sqlite-autocommit'] as const) {
        line(call, c, `oidc-provider, ${storeName(store)}`, oidcRow(results, kind, c, store), oidcRow(results, kind, c, store, 'none'));
      }
    }
    const post = (flags: FlagSet): LoadRow | undefined =>
      results.loads.find((r) => r.target === 'express' && r.method === 'POST' && r.connections === c && flagsOf(r) === flags);
    line('POST form → JSON', c, 'express', post('production'), post('none'));
  }
  if (lines.length === 0) return [];
  return [
    '### With and without the V8 flags',
    '',
    `The compared rows of the table above, side by side: \`${results.flags.join(' ')}\` against a twin process started`,
    'without any flag, in the same rounds.',
    '',
    '| call | conn. | server | flags: req/s | flags: p99 ms | no flags: req/s | no flags: p99 ms | req/s no flags ÷ flags | p99 no flags ÷ flags |',
    '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...lines,
    '',
  ];
}

function renderGrantScaling(results: Results): string[] {
  return [
    '## Cost growth with the number of grants',
    '',
    `Large database: ${f0(results.seeding.grants)} grants, each with its first access and refresh token (${f0(results.seeding.tokens)} token rows), seeded through the`,
    `store (\`grants.create\` + \`tokens.issue\`, 17 of them through the whole link flow) in one transaction in ${f1(results.seeding.seconds)} s, before its`,
    'server started. Small database: 100 grants. Both at 16 connections, their slices interleaved in the same rounds.',
    '',
    '| call | 100 grants: req/s | p50 ms | p99 ms | 100,000 grants: req/s | p50 ms | p99 ms | p99 ratio |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...(['refresh', 'introspect'] as const).map((kind) => {
      const small = ours(results, kind, 16)!;
      const sm = small.result;
      const l = ours(results, kind, 16, true)!.result;
      return `| ${small.scenario} | ${f0(sm.rps)} | ${f2(sm.p50)} | ${f2(sm.p99)} | ${f0(l.rps)} | ${f2(l.p50)} | ${f2(l.p99)} | ${ratio(l.p99 / sm.p99)} |`;
    }),
    '',
    'Every lookup is by primary key (token digest, grant id), so the work per request is O(log n). What grows is the share of',
    "B-tree pages that are not in SQLite's page cache (2 MiB, the default, on the server's connection) and have to be read from",
    'the OS page cache.',
    '',
  ];
}

/** Where the added latency comes from: queueing behind a CPU-bound process, and the cost of one request alone. */
function skillExplanation(results: Results, s: SkillResult, met: boolean): string[] {
  const little = (r: LoadResult): number => (s.connections / r.rps) * 1000;
  const p = s.profile;
  const cpuMs = p ? p.busyMs / ((p.rps * p.loadMs) / 1000) : undefined;
  const needRps = s.connections / ((s.direct.p50 + 2) / 1000);
  const express = (results.loads ?? []).find((r) => r.target === 'express' && r.method === 'POST' && r.connections === s.connections);
  return [
    `At ${s.connections} connections in a closed loop the latency is mostly queueing (the note under the throughput table): each connection sends`,
    'its next request as soon as it has an answer, so a request waits behind the others and p50 follows connections / throughput:',
    `${f2(little(s.direct))} ms straight to the backend, ${f2(little(s.guard))} ms through the guard (measured p50: ${f2(s.direct.p50)} and ${f2(s.guard.p50)} ms).`,
    ...(p && cpuMs !== undefined
      ? [
          `The guard's process is what they queue for: in the profile below it was busy ${f0((100 * p.busyMs) / p.wallMs)} % of the time, ≈ ${f2(cpuMs)} ms per request`,
          "(its HTTP server for Alexa's request and its HTTP client to the backend, the RSA verification, the envelope's JSON, the",
          'token lookup, Express, and collecting the garbage of all that).',
        ]
      : []),
    `So as fast as ${s.connections} connections go, the guard adds ${f2(s.guard.p50 - s.direct.p50)} ms at p50 and ${f2(s.guard.p99 - s.direct.p99)} ms at p99 (for information, not the`,
    `target): 2 ms would need it to answer ≈ ${f0(needRps)} req/s here (${s.connections} / (direct p50 + 2 ms)), ≈ ${f2(1000 / needRps)} ms per request${
      express
        ? `; bare Express answering a form POST, with no verification and no second hop, managed ${f0(express.result.rps)} req/s at ${s.connections} connections in this run`
        : ''
    }.`,
    ...(s.paced
      ? [
          `The targets are judged at ${s.connections} connections sharing a steady ${f0(s.paced.rate)} req/s (a household sends a few a minute), below saturation, where the`,
          `difference is the guard's own work per request${met ? '' : ' (not met in this run)'}.`,
        ]
      : []),
    ...(s.single
      ? [
          `Unloaded, at 1 connection, the guard adds ${f2(s.single.guard.p50 - s.single.direct.p50)} ms at p50 and ${f2(s.single.guard.p99 - s.single.direct.p99)} ms at p99: the cost of one request's`,
          'checks and second hop without anyone ahead of it.',
        ]
      : []),
    `The backend and the load generator run on the same ${results.machine.cpuCount} CPUs as the guard: through the guard three busy processes`,
    'share them where two did.',
  ];
}

/** The skill guard's section: its rows, its targets, what was checked and where its time goes. */
export function renderSkillMarkdown(results: Results): string[] {
  const s = results.skill;
  if (!s) return [];
  const list = skillTargets(results);
  const latencyMet = list.slice(0, 2).every((t) => t.met);
  return [
    '## Skill guard (POST /skill)',
    '',
    `The target: a signed request through the guard adds at most 2 ms at p50 and 5 ms at p99 over the same request sent straight to the`,
    `skill backend, at ${s.connections} connections, with the signing-certificate chain cached.`,
    '',
    '- **Backend**: bare `node:http` in its own process (`bench/servers/skill-backend.ts`); it reads the whole body and answers',
    '  `{"version":"1.0","response":{"outputSpeech":{"type":"PlainText","text":"ok"}}}`. It counts the requests that carry the',
    "  guard's `X-Alexa-Link-Link-Id` header (forwarded) apart from the others (direct).",
    '- **Alexa Link**: `node dist/main.js` with the production V8 flags like every server here (the backend too), `alexa_skill_id` and `skill_backend_url` set, and',
    "  the tests' trust switches (`SKILL_TEST_TRUSTED_CA`, `SKILL_TEST_CERT_ORIGIN`) pointing the unchanged verification at a PKI the",
    '  bench makes with the openssl CLI (a root, an intermediate, an RSA-2048 signing certificate for echo-api.amazon.com;',
    '  `bench/lib/alexa-signing.ts`) and at a loopback server for its chain. One account is linked in its store before it starts, and',
    '  one signed request before the runs downloads and caches the chain.',
    `- **Runs**: at ${s.connections} connections sharing a steady ${s.paced ? f0(s.paced.rate) : '–'} req/s (the target: a paced generator of our own), and as fast as`,
    `  ${s.connections} connections and 1 connection go (for information). One LaunchRequest envelope with the linked`,
    "  account's access token, signed (`Signature-256` and `Signature`) right before each run so that its timestamp is fresh, is",
    '  sent by every connection: straight to the backend, and to `/skill`, which checks the certificate URL, the timestamp and the',
    '  skill id, verifies the signature with the cached chain, judges the token (SQLite), forwards the raw body to the backend over',
    '  a kept-alive connection and passes its answer back. Warm-up, slices and round robin as for the table above, the six rows',
    '  taking turns.',
    `- **Checks**: every answer through the guard must be 200 with the backend's body byte for byte (the guard's own answers, a`,
    '  LinkAccount card or "not available", are 200 too), and the backend must have received every request the guard answered, and',
    `  at most ${s.maxCutOff} more: at the end of each of the ${s.runs} runs of a row the load generator stops with a request in flight on`,
    '  every connection, which the server still forwards. The chain must have been downloaded once.',
    '',
    ...skillTable(s),
    '',
    ...targetTable(results, list),
    '',
    ...skillExplanation(results, s, latencyMet),
    '',
    ...(s.profile ? profileTables(`Where the guard's time goes (${s.connections} connections, a fresh server under \`--cpu-prof\`)`, s.profile) : []),
  ];
}

function renderStartup(results: Results): string[] {
  const rss = results.rss;
  const expressIdle = rss.expressIdle;
  const readyOurs = median(results.startup.ours);
  const readyExpress = median(results.startup.express);
  const readyLarge = median(results.startup.oursLarge);
  return [
    '## Start-up and memory',
    '',
    '| figure | alexa-link | bare Express | ratio |',
    '| --- | ---: | ---: | ---: |',
    `| process start → first 200 from \`GET /healthz\`, median of ${results.startup.ours.length} (ms) | ${f0(readyOurs)} | ${f0(readyExpress)} | ${ratio(readyOurs / readyExpress)} |`,
    `| the same with ${f0(results.seeding.grants)} grants in the database, median of ${results.startup.oursLarge.length} (ms) | ${f0(readyLarge)} | ${f0(readyExpress)} | ${ratio(readyLarge / readyExpress)} |`,
    `| RSS idle, ${IDLE_SECONDS} s after ready (MiB; right after ready: ${f1(rss.oursIdleFirst)}) | ${f1(rss.oursIdle)} | ${f1(expressIdle)} | ${ratio(rss.oursIdle / expressIdle)} |`,
    `| RSS of another fresh server, idle (MiB) | ${f1(rss.memoryServer.idle)} | ${f1(expressIdle)} | ${ratio(rss.memoryServer.idle / expressIdle)} |`,
    `| … once ${f0(rss.memoryServer.grants)} grants exist in its database (seeded) (MiB) | ${f1(rss.memoryServer.seeded)} | ${f1(expressIdle)} | ${ratio(rss.memoryServer.seeded / expressIdle)} |`,
    `| … after ${rss.memoryServer.touchedGrants} of them were introspected and refreshed (MiB) | ${f1(rss.memoryServer.touched)} | ${f1(expressIdle)} | ${ratio(rss.memoryServer.touched / expressIdle)} |`,
    `| RSS after ${f0(rss.requests)} requests (the load runs, warm-ups included) (MiB) | ${f1(rss.oursAfterRequests)} | ${f1(rss.expressAfter)} | ${ratio(rss.oursAfterRequests / rss.expressAfter)} |`,
    `| RSS of the ${f0(results.seeding.grants)}-grant server: idle / after ${f0(rss.largeRequests)} requests (MiB) | ${f1(rss.largeIdle)} / ${f1(rss.largeAfterRequests)} | ${f1(expressIdle)} / ${f1(rss.expressAfter)} | ${ratio(rss.largeAfterRequests / rss.expressAfter)} |`,
    `| oidc-provider (SQLite, group commit) for comparison: idle / after its runs (MiB) | ${f1(rss.oidcIdle)} / ${f1(rss.oidcAfter)} | ${f1(expressIdle)} / ${f1(rss.expressAfter)} | ${ratio(rss.oidcAfter / rss.expressAfter)} |`,
    '',
    "Bare Express here is the one started without flags (the memory targets' reference). Every load server, idle (read together",
    `before the load runs) and after the load runs (its own rows; the main Alexa Link server also the top-up), the ratios against that Express:`,
    '',
    '| server | V8 flags | idle MiB | ×Express | after its runs MiB | ×Express | requests sent |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
    ...(rss.servers ?? []).map(
      (entry) =>
        `| ${entry.name} | ${entry.flags} | ${f1(entry.idle)} | ${ratio(entry.idle / expressIdle)} | ${entry.after === undefined ? '' : f1(entry.after)} | ` +
        `${entry.after === undefined ? '' : ratio(entry.after / rss.expressAfter)} | ${entry.requests === undefined ? '' : f0(entry.requests)} |`,
    ),
    '',
    `Every start (ms): alexa-link ${results.startup.ours.map(f0).join(', ')} (the first creates the database); with ${f0(results.seeding.grants)} grants`,
    `${results.startup.oursLarge.map(f0).join(', ')}; bare Express ${results.startup.express.map(f0).join(', ')}. On the ${f0(results.seeding.grants)}-grant database, timed in the bench`,
    `process: \`Store.open\` ${results.seeding.openMs.map(f0).join(', ')} ms, \`store.prune()\` ${results.seeding.pruneMs.map(f0).join(', ')} ms. RSS is VmRSS from /proc/<pid>/status.`,
    `Idle RSS is read ${IDLE_SECONDS} s after the server was ready, with nothing sent to it, the same way for every server`,
    "(`idleRssMiB` in bench/lib/procs.ts): V8's memory reducer gives back heap that start-up used about 8 s and again",
    '16–20 s after start (bare Express drops 2–5 MiB each time), and from about 20 s the reading stays flat for minutes.',
    `At the end the main database held ${f0(results.mainDatabase.grants)} grants (100 seeded, the rest from the exchanges that counted commits), ${f0(results.mainDatabase.tokens)} tokens and ${f0(results.mainDatabase.auditEvents)} audit events.`,
    '',
  ];
}

function renderMemory(results: Results): string[] {
  const series = results.rss.series;
  return [
    'The main server after each round of load. It was started with `--expose-gc` and a bench preload (`bench/servers/probe.ts`)',
    'that, on SIGUSR2 only, forces a full garbage collection and reports `process.memoryUsage()`: RSS is read first, then the',
    'probe runs, so the RSS column is the natural one.',
    '',
    '| after | requests so far | RSS MiB | JS heap used after forced GC, MiB | RSS after forced GC, MiB |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...series.map(
      (s) =>
        `| ${s.after} | ${f0(s.requests)} | ${f1(s.rss)} | ${s.heapAfterGc === undefined ? '' : f1(s.heapAfterGc)} | ${s.rssAfterGc === undefined ? '' : f1(s.rssAfterGc)} |`,
    ),
    '',
    ...memoryVerdict(series),
    '',
  ];
}

function renderCommitCost(results: Results): string[] {
  const c = results.commits;
  const fs = results.fsync;
  return [
    '## Durable commits and where the time goes',
    '',
    "Commits per request, read from the server's own WAL around one request sent alone (frames that end a transaction); in WAL",
    'mode with `synchronous=FULL`, each commit is one fsync of the WAL file:',
    '',
    '| request | commits |',
    '| --- | ---: |',
    `| refresh_token grant | ${c.refresh} |`,
    `| authorization_code exchange | ${c.code} |`,
    `| introspection | ${c.introspect} |`,
    `| metadata | ${c.metadata} |`,
    '',
    `A single-row commit on this disk (WAL mode, better-sqlite3, ${fs.full.commits} commits each, alternating blocks of 50):`,
    `**synchronous=FULL ${f0(fs.full.medianUs)} µs** median (mean ${f0(fs.full.meanUs)}, p90 ${f0(fs.full.p90Us)}),`,
    `synchronous=NORMAL ${f0(fs.normal.medianUs)} µs median (mean ${f0(fs.normal.meanUs)}, p90 ${f0(fs.normal.p90Us)}): FULL costs ${ratio(fs.full.medianUs / fs.normal.medianUs)}.`,
    '',
  ];
}

/** Every SQLite-backed row of the load table: writes and commits per request from the server's counter, fsyncs from strace. */
export function renderFsyncs(results: Results): string[] {
  const durable = results.loads.filter((r) => r.commits && r.target !== 'express' && r.store !== 'memory');
  if (durable.length === 0) return [];
  const dbs = results.oidcDatabases ?? [];
  return [
    '### Commits and fsyncs per request under load',
    '',
    'Every row of the load table that writes to SQLite. "Writes" are what the server\'s own counter calls a write: for Alexa Link',
    'one savepoint of its group commit (a whole refresh or code exchange), for oidc-provider one adapter call (upsert, consume,',
    'destroy, revokeByGrantId). "Commits" are counted by the same counter over the measured slices; each is one fsync of the WAL.',
    'They include the commits of the requests still in flight when a slice ended (at most one per connection, answered after the',
    'load generator stopped and so not among the requests counted): at 16 connections the figures lean slightly high.',
    results.strace.ok
      ? `The strace columns come from one more run of the row (${f1(results.settings.straceSeconds)} s) with \`strace -f -c -e trace=fsync,fdatasync -p <pid>\` attached to the server: ` +
        'every fsync the kernel saw, WAL checkpoints included (SQLite syncs the WAL before copying pages back and the database ' +
        'file after, about every 1,000 WAL pages), beside the commits the counter saw in that same run. ptrace stops the server at ' +
        'every system call, so it runs slower while traced (last column) and a group commit may gather more or fewer writes.'
      : `**strace could not attach here** (${results.strace.reason}), so only the counters are shown.`,
    '',
    '| server | V8 flags | call | store | conn. | writes/req | commits/req | strace run: requests | commits/req | fsyncs/req | req/s while traced |',
    '| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...durable.map((row) => {
      const t = row.commits!;
      const st = row.strace;
      const calls = straceCalls(row);
      const store = row.target === 'alexa-link' ? `SQLite, ${row.database ?? (row.kind === 'code' ? 'its own' : '100 grants')}` : storeName(row.store);
      return (
        `| ${row.target} | ${flagsOf(row)} | ${row.scenario} | ${store} | ${row.connections} | ${perRequest(t.writes, t.requests)} | ${perRequest(t.commits, t.requests)} | ` +
        `${st ? f0(st.requests) : ''} | ${st?.commits !== undefined ? perRequest(st.commits, st.requests) : ''} | ${st && calls !== undefined ? perRequest(calls, st.requests) : ''} | ${st ? f0(st.rps) : ''} |`
      );
    }),
    '',
    ...(durable.some((row) => row.strace && row.strace.non2xx > 0)
      ? [
          `**Some strace runs had non-2xx answers**: ${durable
            .filter((row) => row.strace && row.strace.non2xx > 0)
            .map((row) => `${row.target} ${row.scenario} c=${row.connections}: ${row.strace!.non2xx}`)
            .join('; ')}.`,
          '',
        ]
      : []),
    ...(dbs.length > 0
      ? [
          "oidc-provider's SQLite files after the runs (nothing deletes expired or consumed rows during a run; a deployment would",
          'prune them with a job):',
          '',
          '| store | V8 flags | rows per model | database + WAL |',
          '| --- | --- | --- | ---: |',
          ...dbs.map(
            (d) =>
              `| ${storeName(d.store)} | ${d.flags} | ${Object.entries(d.rows)
                .map(([model, n]) => `${model} ${f0(n)}`)
                .join(', ')} | ${mib(d.bytes)} |`,
          ),
          '',
        ]
      : []),
  ];
}

function renderGroupCommit(results: Results, f: Figures): string[] {
  const c = results.commits;
  const { fullMs, refreshFsyncMs, ceiling, perCommit, commitMs, commitMsPerRefresh, commitShare } = f;
  const gc = results.profiles.refresh.groupCommit;
  const sizeList = gc.sizes.map(([size, count]) => `${size}: ${f0(count)}`).join(', ');
  const refresh1 = ours(results, 'refresh', 1)!;
  const refresh16 = ours(results, 'refresh', 16)!;
  return [
    "better-sqlite3 is synchronous: while SQLite waits for the fsync, the server's only JavaScript thread waits with it and",
    `nothing else is served. One commit per refresh would bound refresh throughput at ${c.refresh} × ${f2(fullMs)} ms = ${f2(refreshFsyncMs)} ms per refresh →`,
    `≈ ${f0(ceiling)} refreshes/s on this disk. So the token endpoint's writes use a group commit (\`src/store/group-commit.ts\`): each runs at once`,
    'in its own savepoint, the transaction stays open until the end of the next event-loop turn, and one COMMIT makes all of its writes',
    'durable before any of them is answered. A request sent alone still gets its own commit (table above); under load they share:',
    `in the profiled 16-connection refresh run below, ${f0(gc.writes)} refreshes made ${f0(gc.commits)} commits, **${f1(perCommit)} refreshes per commit**`,
    `(refreshes in one commit: number of commits — ${sizeList}).`,
    `Measured ${f0(refresh1.result.rps)} refreshes/s at 1 connection (nothing to share: each waits for its own fsync) and ${f0(refresh16.result.rps)} at 16.`,
    `Under that refresh load the COMMITs took ${f2(commitMsPerRefresh)} ms per refresh (${f2(commitMs / Math.max(1, gc.commits))} ms per commit, which writes the pages of all`,
    `its refreshes: token rows, their indexes, the grant, the audit row), ${f1(commitShare)} % of the server's busy time (profile below).`,
    `The other ${f1(100 - commitShare)} % is CPU work.`,
    '',
  ];
}

function renderProfiles(results: Results): string[] {
  const c = results.commits;
  return [
    "CPU profiles (`node --cpu-prof`) of a fresh server under each load. V8 charges the time spent inside better-sqlite3's native",
    "methods to the JavaScript function that calls them: `settle` in `dist/store/group-commit.js` is the group's COMMIT (it waits for",
    "the fsync), `transaction` in better-sqlite3 the savepoints, `prepare` SQL compilation, and a store function's self time includes",
    `the statements it runs${c.refresh > 1 ? ' (`record` in `dist/store/audit.js` is an autocommitted INSERT, with its own fsync).' : '.'}`,
    '',
    ...profileTables('Refresh', results.profiles.refresh),
    ...profileTables('Introspection', results.profiles.introspect),
  ];
}

function renderRefreshVsOidc(results: Results, f: Figures): string[] {
  const c = results.commits;
  const pr = results.profiles.refresh;
  const { fullMs, perCommit, commitMsPerRefresh, commitShare, sessionShareRefresh, prepareShare } = f;
  const refresh1 = ours(results, 'refresh', 1)!;
  const refresh16 = ours(results, 'refresh', 16)!;
  const group = [oidcRow(results, 'refresh', 1, 'sqlite-group'), oidcRow(results, 'refresh', 16, 'sqlite-group')];
  const auto = [oidcRow(results, 'refresh', 1, 'sqlite-autocommit'), oidcRow(results, 'refresh', 16, 'sqlite-autocommit')];
  const memory = [oidcRow(results, 'refresh', 1, 'memory'), oidcRow(results, 'refresh', 16, 'memory')];
  if (!group[0] || !group[1]) return [];
  const refreshMet = comparisonTargets(results)
    .filter((t) => t.name.startsWith('refresh throughput'))
    .every((t) => t.met);
  const dbShareRefresh = areaShare(pr, 'better-sqlite3') + areaShare(pr, 'alexa-link store');
  const cuts = [
    ...(c.refresh > 1 ? [`one commit per refresh instead of ${c.refresh}`] : []),
    ...(sessionShareRefresh >= 1 ? [`no session middleware on /token (${f1(sessionShareRefresh)} %)`] : []),
    ...(prepareShare >= 2 ? ['statements prepared once'] : []),
  ];
  const pair = (rows: Array<LoadRow | undefined>): string => rows.map((r) => (r ? f0(r.result.rps) : '–')).join(' / ');
  const commitPair = (rows: Array<LoadRow | undefined>): string =>
    rows.map((r) => (r?.commits ? perRequest(r.commits.commits, r.commits.requests) : '–')).join(' / ');
  return [
    `### Refresh against oidc-provider doing the same work (${refreshMet ? 'target met' : 'target not met'})`,
    '',
    `Refreshes per second at 1 / 16 connections, production flags: ours ${pair([refresh1, refresh16])}; oidc-provider with SQLite and group commit`,
    `${pair(group)} (ours ${ratio(refresh1.result.rps / group[0].result.rps)} / ${ratio(refresh16.result.rps / group[1].result.rps)} of it), with a commit per write ${pair(auto)}` +
      `${memory[0] ? `, in memory (rotating too, nothing on disk) ${pair(memory)}` : ''}.`,
    `Commits per refresh, counted by each server over the measured slices: ours ${commitPair([refresh1, refresh16])}; oidc-provider with group commit`,
    `${commitPair(group)}, with a commit per write ${commitPair(auto)}. Alone, each of our refreshes waits for one fsync; each of`,
    "oidc-provider's waits for one per write, its three writes awaited in turn. Under load, a group commit shares one fsync among",
    'the writes of the same moment, on both sides.',
    `Ours rotates with successor confirmation (3 UPDATEs, a DELETE, an INSERT) and counts the refresh in the day's audit row, and`,
    'answers only once that is on disk: a commit with an fsync, during which the event loop is blocked, shared with the refreshes',
    `of the same moment (${f1(perCommit)} per commit in the profiled 16-connection run, ${f2(commitMsPerRefresh)} ms per refresh; at 1 connection each refresh waits`,
    `for its own, ≈ ${f2(fullMs)} ms for one row here). In the refresh profile the COMMITs take ${f1(commitShare)} % of the busy time, and all SQLite`,
    `work together (better-sqlite3 plus the store's statements) ${f1(dbShareRefresh)} %; the rest is Node's HTTP stack, Express and its`,
    'middleware, crypto (two new tokens, SHA-256 digests, Fernet) and garbage collection.',
    cuts.length > 0
      ? `What can still be cut without giving up durability is in the findings below: ${cuts.join('; ')}.`
      : 'No cheap cut that keeps durability is left in this profile.',
    '',
  ];
}

function renderIntrospectionCost(results: Results, f: Figures): string[] {
  const pi = results.profiles.introspect;
  const { sessionShareIntro } = f;
  const intro1 = ours(results, 'introspect', 1)!;
  const intro16 = ours(results, 'introspect', 16)!;
  const introMet = comparisonTargets(results)
    .filter((t) => t.name.startsWith('introspection throughput'))
    .every((t) => t.met);
  const oidc1 = oidcRef(results, intro1);
  const oidc16 = oidcRef(results, intro16);
  const dbShareIntro = areaShare(pi, 'better-sqlite3') + areaShare(pi, 'alexa-link store');
  const addressShareIntro = areaShare(pi, 'ipaddr.js') + areaShare(pi, 'proxy-addr') + areaShare(pi, 'forwarded');
  return [
    `### Where introspection's time goes (${introMet ? 'target met' : 'target not met'})`,
    '',
    `Introspection answered ${f0(intro1.result.rps)} / ${f0(intro16.result.rps)} req/s at 1 / 16 connections, ${ratio(intro1.result.rps / expressRef(results, intro1)!.result.rps)} / ${ratio(intro16.result.rps / expressRef(results, intro16)!.result.rps)} of the bare`,
    `Express POST${oidc1 && oidc16 ? ` and ${ratio(intro1.result.rps / oidc1.result.rps)} / ${ratio(intro16.result.rps / oidc16.result.rps)} of oidc-provider's SQLite introspection (${f0(oidc1.result.rps)} / ${f0(oidc16.result.rps)} req/s)` : ''}.`,
    intro16.result.rps >= expressRef(results, intro16)!.result.rps
      ? "It makes no commit, and passes Express by: the front door skips Express's per-request set-up, which the bare app pays. In the introspection"
      : 'It makes no commit; the difference is per-request work that the bare app does not do. In the introspection',
    `profile: ${sessionShareIntro >= 1 ? `express-session ${f1(sessionShareIntro)} % of busy time although /introspect never uses a session (finding below); ` : ''}Node's HTTP`,
    `stack ${f1(areaShare(pi, 'node http/net/streams') + areaShare(pi, 'node http/net/streams (native)'))} %; garbage collection ${f1(areaShare(pi, 'garbage collector'))} %; SQLite (token and grant lookups) ${f1(dbShareIntro)} %;`,
    `crypto (the token's MAC and SHA-256, the client secret's constant-time comparison) ${f1(areaShare(pi, 'node crypto'))} %; the client address`,
    `behind the trusted proxy (X-Forwarded-For parsing, for the request limit) ${f1(addressShareIntro)} %. The endpoint skips Express altogether,`,
    'body-parser and helmet (a front door on node:http, a small form reader, JSON written directly: src/http/path-table.ts, form-body.ts).',
    '',
  ];
}

/** Only when the p99 target was missed. */
function renderP99(results: Results): string[] {
  if (targets(results)[0]!.met) return [];
  const fs = results.fsync;
  const slowest16 = [ours(results, 'refresh', 16)!, ours(results, 'code', 16)!].reduce((a, b) => (b.result.p99 > a.result.p99 ? b : a));
  return [
    '### Why p99 at 16 connections is above 50 ms',
    '',
    'With one thread and synchronous SQLite, 16 concurrent requests wait in line: latency ≈ 16 × the time one request',
    `occupies the event loop. ${slowest16.scenario} (the slowest here: p50 ${f2(slowest16.result.p50)} ms, p99 ${f2(slowest16.result.p99)} ms) occupies it for ≈ ` +
      `${f2(1000 / slowest16.result.rps)} ms (1 / throughput), so p50 is ≈ ${f0((16 * 1000) / slowest16.result.rps)} ms and p99 adds`,
    `fsync variance (one commit here: median ${f0(fs.full.medianUs)} µs, p90 ${f0(fs.full.p90Us)} µs), CPU steal by other guests (last column of the table) and`,
    'garbage-collection pauses; the load generator shares the two CPUs. Less CPU per request lowers all of it.',
    '',
  ];
}

/** A small always-on machine: what a refresh costs the storage, and memory against bare Express. */
function renderFootprint(results: Results): string[] {
  const f = results.footprint;
  if (!f) return [];
  const written = f.writtenBytes / f.refreshes;
  const kept = f.keptBytes / f.refreshes;
  const samples = results.idleSamples;
  const oursIdle = samples ? median(samples.ours) : results.rss.oursIdle;
  const expressIdle = samples ? median(samples.express) : results.rss.expressIdle;
  const idle = oursIdle / expressIdle;
  const loaded = results.rss.oursAfterRequests / results.rss.expressAfter;
  const verdict = (ok: boolean): string => (ok ? '**met**' : '**NOT met**');
  const y = results.year;
  return [
    '## Footprint on a small always-on machine',
    '',
    `${f.links} links refreshing over HTTP in rounds (each presents the successor it got last), ${f0(f.refreshes)} refreshes against the server`,
    'as a separate process. Written: its `/proc/<pid>/io` `write_bytes` over the refreshes (WAL, checkpoints, everything). Kept: the',
    'database file after a clean stop, before and after the refreshes.',
    '',
    '| figure | measured | target | result |',
    '| --- | --- | --- | --- |',
    `| bytes written to storage per refresh | ${f0(written)} B | ≤ 16,384 B | ${verdict(written <= 16384)} |`,
    `| bytes kept in the database per refresh | ${f0(kept)} B (${mib(f.dbBefore)} → ${mib(f.dbAfter)}) | ≤ 64 B | ${verdict(kept <= 64)} |`,
    `| RSS idle vs bare Express without flags${samples ? ` (medians of ${samples.ours.map(f1).join(', ')} and ${samples.express.map(f1).join(', ')} MiB)` : ''} | ${f1(oursIdle)} vs ${f1(expressIdle)} MiB = ${ratio(idle)} | ≤ 1.15× | ${verdict(idle <= 1.15)} |`,
    `| RSS after the load runs vs bare Express without flags after its runs | ${f1(results.rss.oursAfterRequests)} vs ${f1(results.rss.expressAfter)} MiB = ${ratio(loaded)} | ≤ 1.30× | ${verdict(loaded <= 1.3)} |`,
    `| database after a simulated year (${y.accounts} links, hourly) | ${mib(y.afterYear.dbBytes + y.afterYear.walBytes)} | ≤ 2 MiB | ${verdict(y.afterYear.dbBytes + y.afterYear.walBytes <= 2 * 2 ** 20)} |`,
    '',
    `The server runs with \`${SERVER_NODE_FLAGS.join(' ')}\` (run.sh, \`npm start\`, the tests); the database size`,
    'against simulated days is the table of the next section.',
    '',
  ];
}

function renderYearSize(results: Results): string[] {
  const y = results.year;
  const day1Total = y.afterDay1.dbBytes + y.afterDay1.walBytes;
  return [
    '## Database size after a simulated year',
    '',
    `In-process, with the store and an injected clock: ${y.accounts} linked accounts, each refreshing once per simulated hour with the`,
    'successor it received last (as Alexa does while in use), each refresh recorded in the audit log as the /token handler does,',
    `and \`store.prune()\` once per simulated day; ${f0(y.refreshes)} refreshes in ${f0(y.seconds)} s. That connection used synchronous=OFF to skip`,
    `${f0(y.refreshes)} fsyncs; it changes when bytes reach the disk, not which bytes.`,
    '',
    '| after | database file | WAL | total | ratio to day 1 | pages (free) | grants | refresh tokens | audit events |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...y.snapshots.map((snap) => {
      const total = snap.dbBytes + snap.walBytes;
      return `| day ${snap.day} | ${mib(snap.dbBytes)} | ${mib(snap.walBytes)} | ${mib(total)} | ${ratio(total / day1Total)} | ${f0(snap.pages)} (${f0(snap.freePages)}) | ${f0(snap.rows.grants!)} | ${f0(snap.rows.refresh_tokens!)} | ${f0(snap.rows.audit_events!)} |`;
    }),
    '',
    `Database file alone: ${ratio(y.afterYear.dbBytes / y.afterDay1.dbBytes)} day 1. After close (WAL checkpointed and removed) the file is ${mib(y.closedBytes)}.`,
    `Refresh tokens at the end: ${f0(y.refreshTokens.live)} live rows, ${f0(y.refreshTokens.retired)} retired rows. Only live refresh tokens are rows`,
    '(a retired one is recognised by its generation, `docs/decisions/0005-token-generations.md`) and access tokens are none, so tokens',
    'do not grow with refreshes; audit events level off after the 90-day history at',
    '24 × 90 per account. The WAL is rewritten from its start after each automatic checkpoint (every ~1,000 pages) but the file',
    "is not truncated while the server runs, so its size is a high-water mark (here set by the daily prune's transaction).",
    '',
  ];
}

/** Defects in src/ this run's figures point to, each only when the figures show it. */
function defectFindings(results: Results, f: Figures): string[] {
  const c = results.commits;
  const pr = results.profiles.refresh;
  const { fullMs, ceiling, sessionShareIntro, sessionShareRefresh, prepareShare } = f;
  const ceilingOne = 1000 / fullMs;
  const code16 = ours(results, 'code', 16)!;
  const readyOurs = median(results.startup.ours);
  const readyLarge = median(results.startup.oursLarge);
  const findings: string[] = [];
  if (c.refresh > 1) {
    findings.push(
      `**A refresh makes ${c.refresh} durable commits where one would do.** \`src/oauth/grants/refresh-token.ts\` calls \`store.tokens.refresh()\` ` +
        "(one IMMEDIATE transaction) and then `store.audit.record('token_refreshed')`, a second, autocommitted INSERT: a second fsync " +
        `(${f2(fullMs)} ms here, event loop blocked); \`record\` alone is ${f1(topShare(pr, (n) => n.startsWith('record dist/store/audit.js')))} % of the refresh profile. Proposed fix: record the audit ` +
        "event in the same transaction, e.g. `store.transaction(() => { const r = store.tokens.refresh(…); if (r.status === 'ok') store.audit.record(…); return r; })` " +
        "(the repository's own `.immediate()` transaction then nests as a savepoint), and likewise on the reuse path. Same durability " +
        `(the audit row commits with the rotation), half the fsyncs: the refresh ceiling goes from ≈ ${f0(ceiling)} to ≈ ${f0(ceilingOne)}/s on this disk.`,
    );
  }
  if (sessionShareIntro >= 1 || sessionShareRefresh >= 1) {
    findings.push(
      '**express-session runs on every request, including /token, /revoke and /introspect.** In `src/server/public-app.ts` the browser ' +
        'router is mounted with `app.use(browser)` and takes `browser.use(session(…))` without a path, so every request that reaches it ' +
        '(all but /healthz, the metadata and /assets) gets a new session object, a random session id and a hash of the session at the end, ' +
        `only to drop them. express-session is ${f1(sessionShareIntro)} % of the introspection profile and ${f1(sessionShareRefresh)} % of the refresh profile ` +
        "(plus part of `randomFillSync` and the hashing in node crypto). Proposed fix: `browser.use('/authorize', session(…))` " +
        '(all four browser routes start with /authorize), or mount the router on `/authorize`.',
    );
  }
  if (c.code > 2) {
    findings.push(
      `**An authorization_code exchange makes ${c.code} commits.** \`codes.redeem()\` (which must stay its own transaction, so that a code is ` +
        "consumed even when a later check fails), `createGrantFromCode()`, then `audit.record('grant_created')` on its own. Proposed fix: " +
        'record the audit event inside the `createGrantFromCode` transaction (2 commits). Codes are rare (one per link); p99 at 16 ' +
        `connections was ${f2(code16.result.p99)} ms.`,
    );
  }
  if (prepareShare >= 2) {
    findings.push(
      '**Every statement is prepared again on every call** (`this.ctx.db.prepare(…)` inside each repository method): `prepare` is ' +
        `up to ${f1(prepareShare)} % of busy time in the profiles above; a refresh prepares about 8 statements. Proposed fix: prepare each ` +
        'statement once per Store (lazily, in the repository) and reuse it; better-sqlite3 statements are reusable and cheap to keep.',
    );
  }
  const pruneMs = median(results.seeding.pruneMs);
  const openMs = median(results.seeding.openMs);
  if (pruneMs > 50) {
    findings.push(
      `**Pruning scans every grant: ${f0(pruneMs)} ms with ${f0(results.seeding.grants)} grants, with the event loop blocked** (median of 3 ` +
        '`store.prune()` on the large database, nothing to delete). The statements in `src/store/maintenance.ts` are meant to be ' +
        'indexed ranges (`grants_refresh_expiry`, `tokens_expiry`); check their EXPLAIN QUERY PLAN for a `SCAN`. ' +
        'It runs at start-up, before listening, and every 10 minutes, when every request in flight waits for it.',
    );
  }
  if (readyLarge > readyOurs * 1.5 && readyLarge - readyOurs > 100) {
    findings.push(
      `**Start-up grows with the database**: ${f0(readyOurs)} ms with a small database, ${f0(readyLarge)} ms with ${f0(results.seeding.grants)} grants ` +
        `(still under the target). \`Store.open\` takes ${f0(openMs)} ms there, most of it the \`PRAGMA quick_check\` (reads every page) of the ` +
        'read-only pre-check in `src/store/database.ts` (the first prune runs only once the server listens). ' +
        'The quick_check is deliberate: a damaged file is caught before anything writes to it.',
    );
  }
  return findings;
}

/** Not defects, always listed. */
function noteFindings(results: Results): string[] {
  const y = results.year;
  const yearRows = y.afterYear.rows;
  const day1Total = y.afterDay1.dbBytes + y.afterDay1.walBytes;
  const yearTotal = y.afterYear.dbBytes + y.afterYear.walBytes;
  return [
    `**Not a defect, but worth knowing: the database grows to ${mib(yearTotal)} in a year of hourly refreshes for ${y.accounts} accounts** ` +
      `(${f0(yearRows.refresh_tokens!)} refresh-token rows, ${f0(yearRows.audit_events!)} audit events; ${mib(day1Total)} after day 1). Token rows ` +
      'do not grow with refreshes (only live refresh tokens are rows); what grows is the audit history, one row per link and day ' +
      "(the day's refreshes counted in it), kept 90 days: not a leak.",
    '**Worth knowing: the per-IP limits.** /token and /revoke allow 300 calls per minute per client IP, /introspect 6,000 (one Music ' +
      'Assistant instance is one IP and may introspect on every request it serves). The bench spreads its load over 4,096 forwarded ' +
      'addresses to measure the server, not the limits.',
  ];
}

function renderFindings(results: Results, f: Figures): string[] {
  const findings = [...defectFindings(results, f), ...noteFindings(results)];
  return [
    '## Findings',
    '',
    'Performance defects in `src/` found by this run, with the evidence above; none was changed here.',
    '',
    ...findings.map((finding, i) => `${i + 1}. ${finding}`),
    '',
  ];
}

function renderHowToRun(results: Results): string[] {
  return [
    '## How to run',
    '',
    '```sh',
    results.command,
    '```',
    '',
    'It builds the server (`npm run build`) and the bench (`bench/tsconfig.json` → `dist-bench/`), runs all of the above on',
    'loopback, stops every process it started and rewrites this file; the raw figures go to `dist-bench/results.json` and the',
    `profiles to \`dist-bench/*.cpuprofile\`. This run took ${f0(results.totalSeconds / 60)} minutes on ${results.machine.cpuCount} cores; not part of \`npm test\`.`,
    '`BENCH_QUICK=1 npm run bench` makes 2-second runs and a 30-day year, for work on the bench itself (figures not comparable);',
    '`BENCH_DURATION=<seconds>` sets the measured seconds per row of the load table (default 8);',
    '`node dist-bench/bench/run.js --report-only` rewrites this file from the last `dist-bench/results.json`.',
    'After `npm run build && npx tsc -p bench/tsconfig.json`, `BENCH_ONLY=<part> node dist-bench/bench/run.js` runs one part alone',
    'and leaves this file as it is: the figures go to `dist-bench/results-<part>.json`, the part as a full run would write it to',
    "`dist-bench/benchmarks-<part>.md`. The parts: `skill` (the skill guard's rows, about a minute), `compare` (refresh and",
    "introspection of Alexa Link, oidc-provider's SQLite stores and bare Express, with and without the V8 flags, and their",
    'fsyncs; about 3 minutes, less with `BENCH_DURATION=4`) and `v8` (the V8 settings table, about 2 minutes).',
    '',
  ];
}

export function renderMarkdown(results: Results): string {
  const f = figures(results);
  return [
    ...renderHeader(results),
    ...renderTargets(results),
    ...renderLatencyTable(results),
    ...renderRowNotes(results),
    ...renderFlagsComparison(results),
    ...renderGrantScaling(results),
    ...renderSkillMarkdown(results),
    ...renderStartup(results),
    ...renderMemory(results),
    ...renderCommitCost(results),
    ...renderGroupCommit(results, f),
    ...renderProfiles(results),
    ...renderFsyncs(results),
    ...renderRefreshVsOidc(results, f),
    ...renderIntrospectionCost(results, f),
    ...renderP99(results),
    ...renderFootprint(results),
    ...renderV8Markdown(results),
    ...renderYearSize(results),
    ...renderFindings(results, f),
    ...renderHowToRun(results),
  ].join('\n');
}

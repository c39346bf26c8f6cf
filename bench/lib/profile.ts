/** Summary of a V8 .cpuprofile (node --cpu-prof): self time per function and per area. */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  name: string;
  selfMs: number;
  /** Share of the time the process was not idle. */
  pctBusy: number;
}

export interface ProfileSummary {
  /** True when only the load window was counted (start-up left out). */
  windowed?: boolean;
  wallMs: number;
  busyMs: number;
  idleMs: number;
  top: ProfileEntry[];
  areas: ProfileEntry[];
}

const SQLITE_NATIVE = new Set(['run', 'get', 'all', 'iterate', 'exec', 'prepare', 'pragma', 'raw', 'pluck', 'bind']);

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
  const dist = url.lastIndexOf('/dist/');
  if (dist >= 0) return `dist/${url.slice(dist + '/dist/'.length)}`;
  return url.replace(/^file:\/\//, '');
}

function areaOf(url: string): string {
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const dist = url.lastIndexOf('/dist/');
  if (dist >= 0) {
    const rest = url.slice(dist + '/dist/'.length).split('/');
    return `alexa-link ${rest.length > 1 ? rest[0] : rest[0]!.replace(/\.js$/, '')}`;
  }
  if (url.startsWith('node:')) {
    const path = url.slice('node:'.length);
    if (/crypto/.test(path)) return 'node crypto';
    if (/http|_http|net|stream|socket/.test(path)) return 'node http/net/streams';
    return 'node (other)';
  }
  return 'other';
}

/**
 * `fromMicros`: only samples taken at or after this CLOCK_MONOTONIC time in µs (what
 * process.hrtime.bigint() / 1000n gives in any process on Linux, and what V8 stamps profiles
 * with), so that start-up can be left out. Ignored when it falls outside the profile.
 */
export function summarizeProfile(file: string, topN = 15, fromMicros?: number): ProfileSummary & { windowed: boolean } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const windowed = fromMicros !== undefined && fromMicros > profile.startTime && fromMicros < profile.endTime;
  const from = windowed ? fromMicros : profile.startTime;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  // The nearest ancestor that has a script URL (native functions have none).
  const callerUrl = (id: number): string => {
    let current = parent.get(id);
    while (current !== undefined) {
      const url = byId.get(current)!.callFrame.url;
      if (url) return url;
      current = parent.get(current);
    }
    return '';
  };

  const self = new Map<number, number>();
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (at < from) continue;
    const delta = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    self.set(profile.samples[i]!, (self.get(profile.samples[i]!) ?? 0) + delta);
  }

  const functions = new Map<string, number>();
  const areas = new Map<string, number>();
  let idleMs = 0;
  for (const [id, ms] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    let name: string;
    let area: string;
    if (functionName === '(idle)') {
      idleMs += ms;
      continue;
    } else if (functionName === '(program)' || functionName === '(garbage collector)' || functionName === '(root)') {
      name = functionName;
      area = functionName === '(garbage collector)' ? 'garbage collector' : 'V8/native outside JS functions (program)';
    } else if (!url) {
      const caller = callerUrl(id);
      name = `${functionName || '(anonymous)'} [native] ← ${caller ? shortUrl(caller) : '?'}`;
      const callerArea = areaOf(caller);
      if (callerArea === 'better-sqlite3' || (SQLITE_NATIVE.has(functionName) && callerArea.startsWith('alexa-link')))
        area = 'SQLite (native: statements, commits, fsync)';
      else if (callerArea === 'node crypto') area = 'crypto (native)';
      else area = `${callerArea} (native)`;
    } else {
      name = `${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}`;
      area = areaOf(url);
    }
    functions.set(name, (functions.get(name) ?? 0) + ms);
    areas.set(area, (areas.get(area) ?? 0) + ms);
  }
  const wallMs = (profile.endTime - from) / 1000;
  const busyMs = [...functions.values()].reduce((sum, ms) => sum + ms, 0);
  const entries = (map: Map<string, number>, limit: number): ProfileEntry[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, selfMs]) => ({ name, selfMs, pctBusy: (100 * selfMs) / busyMs }));
  return { wallMs, busyMs, idleMs, top: entries(functions, topN), areas: entries(areas, 16), windowed };
}

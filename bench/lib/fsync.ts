/**
 * Two small pieces of evidence about durable commits:
 * - what one commit costs on this disk with synchronous=FULL vs NORMAL (WAL mode, as the server);
 * - how many commits one request makes, read from the server's own WAL file (test/helpers/wal.ts).
 */

import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { walCommits } from '../../test/helpers/wal.js';
import { median } from './procs.js';

export interface CommitCost {
  commits: number;
  medianUs: number;
  meanUs: number;
  p90Us: number;
}

export interface FsyncResult {
  full: CommitCost;
  normal: CommitCost;
}

function stats(samples: number[]): CommitCost {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    commits: samples.length,
    medianUs: median(samples) * 1000,
    meanUs: (samples.reduce((sum, value) => sum + value, 0) / samples.length) * 1000,
    p90Us: sorted[Math.floor(sorted.length * 0.9)]! * 1000,
  };
}

/** `commits` single-row INSERT commits per mode, in alternating blocks so drift hits both alike. */
export function fsyncCost(dir: string, commits = 400): FsyncResult {
  const db = new Database(join(dir, 'fsync.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)');
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const payload = Buffer.alloc(200, 7);
    const samples: Record<'FULL' | 'NORMAL', number[]> = { FULL: [], NORMAL: [] };
    const block = 50;
    for (let done = 0; done < commits; done += block) {
      for (const mode of ['FULL', 'NORMAL'] as const) {
        db.pragma(`synchronous = ${mode}`);
        for (let i = 0; i < block; i++) {
          const started = performance.now();
          insert.run(payload);
          samples[mode].push(performance.now() - started);
        }
      }
    }
    return { full: stats(samples.FULL), normal: stats(samples.NORMAL) };
  } finally {
    db.close();
  }
}

/**
 * Commits made by one call of `request` (which must send exactly one request and wait for its
 * response), read from the WAL before and after. Retries when a checkpoint restarted the WAL in
 * between; returns the smallest of `tries` clean readings.
 */
export async function commitsPerRequest(walFile: string, request: () => Promise<void>, tries = 3): Promise<number> {
  const readings: number[] = [];
  for (let attempt = 0; readings.length < tries && attempt < tries * 4; attempt++) {
    const before = walCommits(walFile);
    await request();
    const after = walCommits(walFile);
    if (after.salt === before.salt || before.salt === '') readings.push(after.commits - before.commits);
  }
  if (readings.length === 0) throw new Error('could not read the WAL cleanly');
  return Math.min(...readings);
}

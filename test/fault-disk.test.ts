/**
 * Disk faults: a data folder that stops taking writes, a full disk, a damaged database file.
 *
 * The tests run as root, and root ignores file modes, so chmod cannot make anything read-only.
 * What does stop root, on a file SQLite already holds open:
 * - the immutable attribute (`chattr +i`, ext4): writes through open descriptors fail (EPERM),
 *   and `chattr -i` makes the folder writable again while the server keeps running;
 * - ext4 remounted read-only by the kernel after an error (errors=remount-ro): every write fails
 *   with EROFS, and only unmounting ends it, so recovery here needs a stop, fsck and a restart.
 * (`mount -o remount,ro` is refused, "busy", while SQLite has the files open for writing.)
 * A full disk is a small tmpfs filled to ENOSPC. Where this machine cannot do one of these (not
 * root, no mount, no ext4), that case is skipped and says why.
 */

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { DATABASE_FILE } from '../src/store/index.js';
import {
  cannotMount,
  ext4TriggerAvailable,
  forceExt4ReadOnly,
  introspectToken,
  mountExt4Image,
  mountImage,
  mountTmpfs,
  refreshToken,
  seedGrants,
  unmount,
} from './helpers/fault.js';
import { introspect, link, refresh } from './helpers/link.js';
import { freePort, RS_SECRET, startTestServer, type TestServer, writeOptions } from './helpers/oauth-server.js';
import { runToExit, type ServerProcess, startServer } from './helpers/server-process.js';
import { tempDir } from './helpers/tmp.js';

const ALICE = { id: 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1', name: 'alice', displayName: 'Alice' };
const STORAGE_FAULT = /could not be read or written|read-only|is full/;

/** Cleanup in reverse order of setup: servers stop before their folder is unmounted. */
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch (error) {
      console.warn('fault-disk cleanup:', error);
    }
  }
});

async function inProcessServer(dataDir: string): Promise<TestServer> {
  const server = await startTestServer({}, dataDir);
  cleanups.push(async () => {
    try {
      await server.close();
    } catch {
      // Closing checkpoints the WAL, which fails on a folder that still refuses writes.
    }
  });
  return server;
}

function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function integrity(file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.pragma('integrity_check', { simple: true }) as string;
  } finally {
    db.close();
  }
}

/** Whether `chattr +i` works in this folder (root on ext4 and friends), or why not. */
function cannotMakeImmutable(dir: string): string | undefined {
  const probe = join(dir, 'immutable-probe');
  writeFileSync(probe, 'x');
  const set = spawnSync('chattr', ['+i', probe], { encoding: 'utf8' });
  if (set.error || set.status !== 0) return `chattr +i is not possible here: ${set.error?.message ?? set.stderr.trim()}`;
  let refused = false;
  try {
    writeFileSync(probe, 'y');
  } catch {
    refused = true;
  }
  execFileSync('chattr', ['-i', probe]);
  rmSync(probe);
  return refused ? undefined : 'an immutable file still took a write here';
}

const scratch = tempDir();
const noImmutable = cannotMakeImmutable(scratch);
const noMount = cannotMount(scratch);
if (noImmutable) console.warn(`fault-disk: read-only (immutable) case skipped: ${noImmutable}`);
if (noMount) console.warn(`fault-disk: cases that need a mount skipped: ${noMount}`);

function expectUnavailable(response: { status: number; json: Record<string, unknown> | undefined; headers: Headers }): void {
  expect(response.status).toBe(503);
  expect(response.json).toMatchObject({ error: 'temporarily_unavailable' });
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(response.headers.get('cache-control')).toBe('no-store');
}

describe('a data folder that stops taking writes', () => {
  it.skipIf(noImmutable !== undefined)(
    `answers 503 temporarily_unavailable, keeps serving reads, and recovers without a restart once writable${noImmutable ? ` (skipped: ${noImmutable})` : ''}`,
    async () => {
      const dataDir = tempDir();
      const server = await inProcessServer(dataDir);
      const linked = await link(server, ALICE);
      const first = await refresh(server, linked.refreshToken);
      expect(first.status).toBe(200);
      const token = first.json!.refresh_token as string;

      // The database, its WAL and the folder: nothing can be written or created, not even by root.
      // (The -shm index is left alone: SQLite maps it into memory, where a refused page would be a crash, not an error.)
      const locked = [join(dataDir, DATABASE_FILE), join(dataDir, `${DATABASE_FILE}-wal`), dataDir];
      execFileSync('chattr', ['+i', ...locked]);
      let unlocked = false;
      const unlock = (): void => {
        if (!unlocked) execFileSync('chattr', ['-i', ...locked]);
        unlocked = true;
      };
      cleanups.push(unlock);
      expect(() => writeFileSync(join(dataDir, 'probe'), 'x')).toThrow();

      const logged = server.lines.length;
      for (let attempt = 0; attempt < 3; attempt++) expectUnavailable(await refresh(server, token));
      const faults = server.lines.slice(logged).filter((line) => STORAGE_FAULT.test(line));
      expect(faults.length).toBe(3);
      expect(faults[0]).toMatch(/ERROR +The data folder is read-only: Alexa Link cannot save tokens\..*"sqlite":"SQLITE_IOERR_WRITE"/);
      // Reads need no write: Music Assistant's introspection goes on.
      expect((await introspect(server, first.json!.access_token as string, RS_SECRET)).json).toMatchObject({ active: true, sub: ALICE.id });
      expect(integrity(join(dataDir, DATABASE_FILE))).toBe('ok');

      unlock();
      // Same token, same running server: the failed attempts changed nothing.
      const retried = await refresh(server, token);
      expect(retried.status).toBe(200);
      const next = await refresh(server, retried.json!.refresh_token as string);
      expect(next.status).toBe(200);
      expect(server.app.store.integrityCheck()).toEqual(['ok']);
      expect(server.app.store.grants.get(server.app.store.db.prepare('SELECT id FROM grants').pluck().get() as string)?.revokedAt).toBeUndefined();
    },
  );

  it.skipIf(noMount !== undefined)(
    `on ext4 forced read-only by the kernel: 503 (never 500 or invalid_grant), no crash, and after fsck a restart serves the same token${noMount ? ` (skipped: ${noMount})` : ''}`,
    async ({ skip }) => {
      const dir = tempDir();
      const image = join(dir, 'ext4.img');
      const dataDir = join(dir, 'data');
      const device = mountExt4Image(image, dataDir, 16);
      let mounted = true;
      cleanups.push(() => {
        if (mounted) unmount(dataDir);
      });
      if (!ext4TriggerAvailable(device)) {
        const reason = `this kernel has no /sys/fs/ext4/${device}/trigger_fs_error, so ext4 cannot be forced read-only here`;
        console.warn(`fault-disk: kernel-forced read-only case skipped: ${reason}`);
        skip(reason);
      }
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const options = await writeOptions(dataDir, port, { log_level: 'info' });
      const [seeded] = seedGrants(dataDir, options.encryption_key as string, 1);
      // options.json is written without fsync; the kernel's abort below would drop it from the disk.
      execFileSync('sync', ['-f', dataDir]);
      // A separate process: if SQLite's memory-mapped index faulted, the crash would show here, not kill the test runner.
      let server: ServerProcess = await startServer({ DATA_DIR: dataDir, PUBLIC_PORT: String(port) });
      cleanups.push(async () => {
        if (server.child.exitCode === null && server.child.signalCode === null) await server.stop('SIGKILL');
      });
      const first = await refreshToken(base, seeded!.refreshToken, {}, false);
      expect(first.kind === 'response' && first.status).toBe(200);
      const token = (first as { json: Record<string, unknown> }).json.refresh_token as string;
      const access = (first as { json: Record<string, unknown> }).json.access_token as string;

      forceExt4ReadOnly(device);
      expect(() => writeFileSync(join(dataDir, 'probe'), 'x')).toThrow(/EROFS/);
      for (let attempt = 0; attempt < 3; attempt++) {
        const outcome = await refreshToken(base, token, {}, false);
        expect(outcome.kind).toBe('response');
        if (outcome.kind !== 'response') throw new Error('unreachable: asserted a response above');
        expect(outcome.status).toBe(503);
        expect(outcome.json).toMatchObject({ error: 'temporarily_unavailable' });
        expect(Number(outcome.headers['retry-after'])).toBeGreaterThan(0);
      }
      const info = await introspectToken(base, access, {}, false);
      expect(info.kind === 'response' && info.json).toMatchObject({ active: true });
      expect(server.child.exitCode).toBeNull();
      expect(server.child.signalCode).toBeNull();
      // The kernel flips the mount to read-only while SQLite writes: either message names the fault.
      expect(server.output()).toMatch(
        /ERROR +(The data folder is read-only: Alexa Link cannot save tokens\.|The database could not be read or written \(SQLITE_IOERR_\w+\)).*"sqlite":"SQLITE_IOERR_\w+"/,
      );

      // Nothing can be checkpointed on the way out: the process says so and exits non-zero.
      expect(await server.stop('SIGTERM')).toBe(1);
      expect(server.output()).toContain('Clean shutdown failed');

      // What an administrator does: unmount, fsck (replays the journal), mount again.
      unmount(dataDir);
      mounted = false;
      const fsck = spawnSync('e2fsck', ['-fy', image], { encoding: 'utf8' });
      expect(fsck.status, fsck.stdout).toBeLessThanOrEqual(1); // 0: clean, 1: errors corrected
      mountImage(image, dataDir);
      mounted = true;
      expect(integrity(join(dataDir, DATABASE_FILE))).toBe('ok');
      server = await startServer({ DATA_DIR: dataDir, PUBLIC_PORT: String(port) });
      const after = await refreshToken(base, token, {}, false);
      expect(after.kind === 'response' && after.status).toBe(200);
      expect(await server.stop('SIGTERM')).toBe(0);
    },
  );
});

describe('a full disk', () => {
  it.skipIf(noMount !== undefined)(
    `answers 503 (never 500 or invalid_grant) and says the folder is full; after space is freed the same token works${noMount ? ` (skipped: ${noMount})` : ''}`,
    async () => {
      const dataDir = join(tempDir(), 'data');
      mountTmpfs(dataDir, 4 * 1024 * 1024);
      cleanups.push(() => unmount(dataDir));
      const server = await inProcessServer(dataDir);
      const linked = await link(server, ALICE);
      const first = await refresh(server, linked.refreshToken);
      expect(first.status).toBe(200);
      const token = first.json!.refresh_token as string;

      // Fill the folder: big writes, then page-sized ones, until the filesystem says ENOSPC.
      const filler = join(dataDir, 'filler');
      const fd = openSync(filler, 'w');
      let full = false;
      try {
        for (const size of [64 * 1024, 4096, 512]) {
          const chunk = Buffer.alloc(size, 0x5a);
          for (let i = 0; i < (8 * 1024 * 1024) / size; i++) {
            try {
              writeSync(fd, chunk);
            } catch (error) {
              expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
              full = true;
              break;
            }
          }
        }
      } finally {
        closeSync(fd);
      }
      expect(full).toBe(true);

      const logged = server.lines.length;
      for (let attempt = 0; attempt < 3; attempt++) expectUnavailable(await refresh(server, token));
      const faults = server.lines.slice(logged).filter((line) => STORAGE_FAULT.test(line));
      expect(faults.length).toBe(3);
      expect(faults[0]).toMatch(/ERROR +The data folder is full: Alexa Link cannot save tokens\. Free some space; it recovers by itself\./);
      expect((await introspect(server, first.json!.access_token as string, RS_SECRET)).json).toMatchObject({ active: true });

      rmSync(filler);
      const retried = await refresh(server, token);
      expect(retried.status).toBe(200);
      expect((await refresh(server, retried.json!.refresh_token as string)).status).toBe(200);
      expect(server.app.store.integrityCheck()).toEqual(['ok']);
      await server.close();
      expect(integrity(join(dataDir, DATABASE_FILE))).toBe('ok');
    },
  );
});

describe('a damaged database file', () => {
  /** The file's page size, from its header (bytes 16-17): the damage is placed in whole pages. */
  const pageSize = (file: string): number => readFileSync(file).readUInt16BE(16);
  const PAGE = 4096;

  async function stoppedDataDir(grants: number): Promise<{ dataDir: string; file: string }> {
    const dataDir = tempDir();
    const port = await freePort();
    const options = await writeOptions(dataDir, port, { log_level: 'info' });
    seedGrants(dataDir, options.encryption_key as string, grants);
    return { dataDir, file: join(dataDir, DATABASE_FILE) };
  }

  /** Starts the server process, which must refuse; returns its one FATAL line. */
  async function startExpectingRefusal(dataDir: string): Promise<string> {
    const result = await runToExit({ DATA_DIR: dataDir, HOST: '127.0.0.1', PUBLIC_PORT: '0' });
    expect(result.code).toBe(1);
    const lines = (result.stdout + result.stderr).trim().split('\n');
    expect(lines.join('\n')).not.toContain('Public listener on');
    // Every line is a whole log line: the message is not broken over several.
    expect(lines.filter((line) => !/^\d{4}-\d\d-\d\dT[\d:.]+Z [A-Z]+ /.test(line))).toEqual([]);
    const fatal = lines.filter((line) => / FATAL /.test(line));
    expect(fatal).toHaveLength(1);
    return fatal[0]!;
  }

  it('with garbage in the middle: start-up stops with a restore-from-backup message and the file is left byte for byte', async () => {
    const { dataDir, file } = await stoppedDataDir(150);
    expect(existsSync(`${file}-wal`) && statSync(`${file}-wal`).size > 0).toBe(false);
    const page = pageSize(file);
    const pages = statSync(file).size / page;
    expect(pages).toBeGreaterThanOrEqual(8);
    // A run of pages in the middle of the file (past the schema and the first tables) become random bytes.
    const first = Math.floor(pages / 2);
    const fd = openSync(file, 'r+');
    try {
      writeSync(fd, randomBytes(3 * page), 0, 3 * page, first * page);
    } finally {
      closeSync(fd);
    }
    // The damage is real: SQLite itself finds it (on a copy, so the original stays as it is).
    const copy = join(tempDir(), 'copy.db');
    copyFileSync(file, copy);
    expect(integrity(copy)).not.toBe('ok');
    const before = sha256File(file);

    // One line, SQLite's first finding in it, the advice at its end.
    const fatal = await startExpectingRefusal(dataDir);
    expect(fatal).toMatch(/FATAL +The database \S*alexa-link\.db is not readable \(.*page \d+.*\); restore it from a backup\. It was left as it is\.$/);
    expect(sha256File(file)).toBe(before);
  });

  it('that is not SQLite at all: start-up stops with the same message and the file is left byte for byte', async () => {
    const { dataDir, file } = await stoppedDataDir(1);
    writeFileSync(file, randomBytes(5 * PAGE));
    rmSync(`${file}-wal`, { force: true });
    rmSync(`${file}-shm`, { force: true });
    const before = sha256File(file);

    const fatal = await startExpectingRefusal(dataDir);
    expect(fatal).toMatch(
      /FATAL +The database \S*alexa-link\.db is not readable \(file is not a database\); restore it from a backup\. It was left as it is\.$/,
    );
    expect(sha256File(file)).toBe(before);
  });
});

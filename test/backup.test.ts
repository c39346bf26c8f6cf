/**
 * The backup snapshot and the restore rules: a snapshot is always there (start, backup_pre, clean
 * stop), backup_post keeps it, a live database is never overwritten, an empty one counts as
 * missing, and a kill while a snapshot is being written leaves the previous one whole.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { SNAPSHOT_FILE, writeSnapshot } from '../src/backup.js';
import { generateFernetKey } from '../src/crypto/fernet.js';
import { DATABASE_FILE } from '../src/store/index.js';
import { CLIENT_ID, LIFETIMES, linkInStore } from './helpers/fixtures.js';
import { csrfOf, ingress } from './helpers/ingress.js';
import { introspect, type Linked, link, refresh } from './helpers/link.js';
import { freePort, RS_SECRET, startTestServer, type TestServer, writeOptions } from './helpers/oauth-server.js';
import { startServer } from './helpers/server-process.js';
import { openStore } from './helpers/store.js';
import { tempDir } from './helpers/tmp.js';

const CLI = new URL('../dist/cli.js', import.meta.url).pathname;
const config = parse(readFileSync(new URL('../config.yaml', import.meta.url), 'utf8')) as { backup_pre: string; backup_post: string };
const person = (i: number) => ({ id: `${String(i).padStart(4, '0')}${'e'.repeat(28)}`, name: `user${i}` });
const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const RESTORED = /Restored (\d+) links? from the backup snapshot of (\d{4}-\d\d-\d\dT[\d:.]+Z)/;

/** Runs a backup hook the way the Supervisor does (docker exec in the container): the configured command line. */
function hook(command: string, dataDir: string, key: string): Promise<{ code: number | null; output: string }> {
  const [program, script, ...args] = command.split(' ');
  expect(program).toBe('node');
  expect(script).toBe('/app/dist/cli.js');
  return cli(args, dataDir, key).done;
}

function cli(args: string[], dataDir: string, key: string) {
  const optionsFile = join(tempDir(), 'options.json');
  writeFileSync(
    optionsFile,
    JSON.stringify({
      encryption_key: key,
      alexa_client_id: 'x',
      alexa_client_secret: 'y'.repeat(32),
      public_url: 'https://alexa.example.net',
      alexa_vendor_id: 'M2AB3CD4EF5GH6',
    }),
  );
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, OPTIONS_FILE: optionsFile } });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const done = new Promise<{ code: number | null; output: string }>((resolve) => child.on('exit', (code) => resolve({ code, output })));
  return { child, done };
}

async function linkPeople(server: TestServer, from: number, count: number): Promise<Linked[]> {
  const linked: Linked[] = [];
  for (let i = from; i < from + count; i++) linked.push(await link(server, person(i)));
  return linked;
}

async function expectWorking(server: TestServer, linked: Linked[], firstPerson: number): Promise<void> {
  for (const [i, probe] of linked.entries()) {
    expect((await introspect(server, probe.accessToken, RS_SECRET)).json).toMatchObject({ active: true, sub: person(firstPerson + i).id });
    expect((await refresh(server, probe.refreshToken)).status).toBe(200);
  }
}

describe('the backup snapshot is always there', () => {
  it('is written at start, by backup_pre and on a clean stop; backup_post keeps it and removes only temporary files', async () => {
    const server = await startTestServer({ log_level: 'info' });
    const key = server.options.encryption_key as string;
    const snapshot = join(server.dataDir, SNAPSHOT_FILE);
    expect(existsSync(snapshot)).toBe(true);
    const atStart = sha256(snapshot);

    await linkPeople(server, 0, 2);
    const pre = await hook(config.backup_pre, server.dataDir, key);
    expect(pre.code).toBe(0);
    expect(pre.output).toContain('snapshot written');
    const afterPre = sha256(snapshot);
    expect(afterPre).not.toBe(atStart);

    writeFileSync(join(server.dataDir, `${SNAPSHOT_FILE}.4242.partial`), 'left over by a killed writer');
    const post = await hook(config.backup_post, server.dataDir, key);
    expect(post.code).toBe(0);
    expect(existsSync(snapshot)).toBe(true);
    expect(sha256(snapshot)).toBe(afterPre);
    expect(readdirSync(server.dataDir).filter((name) => name.endsWith('.partial'))).toEqual([]);

    await linkPeople(server, 2, 1);
    await server.close();
    expect(sha256(snapshot)).not.toBe(afterPre);
    const db = new Database(snapshot, { readonly: true });
    try {
      expect((db.prepare('SELECT count(*) AS n FROM grants').get() as { n: number }).n).toBe(3);
      // One self-contained file: no WAL needed to read it.
      expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
    } finally {
      db.close();
    }
  });
});

describe('restore rules', () => {
  it('no live database and a snapshot: restores it and says how many links and from when', async () => {
    const source = await startTestServer({ log_level: 'info' });
    const linked = await linkPeople(source, 0, 3);
    await source.close();
    const closedAt = Date.now();
    for (const suffix of ['', '-wal', '-shm']) rmSync(join(source.dataDir, `${DATABASE_FILE}${suffix}`), { force: true });

    const target = await startTestServer({ encryption_key: source.options.encryption_key, log_level: 'info' }, source.dataDir);
    try {
      const line = target.lines.find((l) => RESTORED.test(l));
      expect(line, target.lines.join('\n')).toBeDefined();
      const [, count, time] = RESTORED.exec(line!)!;
      expect(Number(count)).toBe(3);
      expect(Math.abs(Date.parse(time!) - closedAt)).toBeLessThan(60_000);
      await expectWorking(target, linked, 0);
    } finally {
      await target.close();
    }
  });

  it('a live database is never overwritten by an older snapshot', async () => {
    const server = await startTestServer({ log_level: 'info' });
    const key = server.options.encryption_key as string;
    const early = await linkPeople(server, 0, 1);
    expect((await hook(config.backup_pre, server.dataDir, key)).code).toBe(0);
    const older = join(tempDir(), 'older.db');
    copyFileSync(join(server.dataDir, SNAPSHOT_FILE), older);
    const late = await linkPeople(server, 1, 1);
    await server.close();
    copyFileSync(older, join(server.dataDir, SNAPSHOT_FILE));

    const again = await startTestServer({ encryption_key: key, log_level: 'info' }, server.dataDir);
    try {
      expect(again.lines.some((l) => RESTORED.test(l))).toBe(false);
      await expectWorking(again, early, 0);
      await expectWorking(again, late, 1);
    } finally {
      await again.close();
    }
  });

  it('a 0-byte database counts as missing: restored from the snapshot, not given an empty schema', async () => {
    const source = await startTestServer({ log_level: 'info' });
    const linked = await linkPeople(source, 0, 2);
    await source.close();
    truncateSync(join(source.dataDir, DATABASE_FILE), 0);

    const target = await startTestServer({ encryption_key: source.options.encryption_key, log_level: 'info' }, source.dataDir);
    try {
      expect(target.lines.some((l) => l.includes('is empty (0 bytes); restoring it from the backup snapshot'))).toBe(true);
      expect(target.lines.find((l) => RESTORED.test(l))).toMatch(/Restored 2 links/);
      await expectWorking(target, linked, 0);
    } finally {
      await target.close();
    }
  });

  it('a 0-byte database and no snapshot: a new database, with a warning', async () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, DATABASE_FILE), '');
    const server = await startTestServer({ log_level: 'info' }, dataDir);
    try {
      expect(server.lines.some((l) => l.includes('is empty (0 bytes) and there is no backup snapshot: starting with a new, empty database'))).toBe(true);
      expect(server.app.store.integrityCheck()).toEqual(['ok']);
    } finally {
      await server.close();
    }
  });

  it('a snapshot that no configured key opens stops start-up and changes nothing', async () => {
    const source = await startTestServer({ log_level: 'info' });
    await linkPeople(source, 0, 1);
    await source.close();
    rmSync(join(source.dataDir, DATABASE_FILE));
    const before = sha256(join(source.dataDir, SNAPSHOT_FILE));
    await expect(startTestServer({ encryption_key: generateFernetKey() }, source.dataDir)).rejects.toThrow(
      /None of the 1 configured encryption key\(s\) opens the backup snapshot/,
    );
    expect(existsSync(join(source.dataDir, DATABASE_FILE))).toBe(false);
    expect(sha256(join(source.dataDir, SNAPSHOT_FILE))).toBe(before);
  });

  it('a damaged snapshot stops start-up with a clear message and is left as it is', async () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, SNAPSHOT_FILE), Buffer.alloc(8192, 7));
    await expect(startTestServer({}, dataDir)).rejects.toThrow(/backup snapshot .* is not readable|not a database/);
    expect(readFileSync(join(dataDir, SNAPSHOT_FILE)).equals(Buffer.alloc(8192, 7))).toBe(true);
    expect(existsSync(join(dataDir, DATABASE_FILE))).toBe(false);
  });

  it('a SIGKILL while a snapshot is being written leaves the previous snapshot whole', async () => {
    // A database large enough that writing its snapshot takes a while.
    const { store, dataDir, keys } = openStore();
    store.transaction(() => {
      for (let i = 0; i < 40_000; i++) store.audit.record('link_requested', { details: { ip: '192.0.2.1', userAgent: `agent ${i} ${'x'.repeat(200)}` } });
    });
    store.close();
    const first = await cli(['backup-snapshot'], dataDir, keys[0]!).done;
    expect(first.code, first.output).toBe(0);
    const snapshot = join(dataDir, SNAPSHOT_FILE);
    const previous = sha256(snapshot);

    let killedMidWrite = 0;
    for (let attempt = 0; attempt < 5; attempt++) {
      const run = cli(['backup-snapshot'], dataDir, keys[0]!);
      // Kill as soon as the temporary file appears: between writing it and renaming it.
      while (!readdirSync(dataDir).some((name) => name.endsWith('.partial'))) {
        if (run.child.exitCode !== null) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      const wasWriting = run.child.exitCode === null;
      run.child.kill('SIGKILL');
      const { code } = await run.done;
      if (wasWriting && code === null) {
        killedMidWrite++;
        expect(sha256(snapshot)).toBe(previous);
      }
      const db = new Database(snapshot, { readonly: true });
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      } finally {
        db.close();
      }
    }
    expect(killedMidWrite).toBeGreaterThan(0);

    // The next start restores from it (the live database gone), and backup_post clears the leftovers.
    expect(readdirSync(dataDir).some((name) => name.endsWith('.partial'))).toBe(true);
    expect((await hook(config.backup_post, dataDir, keys[0]!)).code).toBe(0);
    expect(readdirSync(dataDir).filter((name) => name.endsWith('.partial'))).toEqual([]);
  });
});

describe('a revocation survives the loss of the live database', () => {
  for (const loss of ['removed', 'emptied'] as const) {
    it(`revoke in the panel, SIGKILL, database ${loss}, start: the link stays revoked`, async () => {
      const dataDir = tempDir();
      const [port, ingressPort] = [await freePort(), await freePort()];
      const options = await writeOptions(dataDir, port, { log_level: 'info' });
      const key = options.encryption_key as string;
      // Two links made before the server starts; one is revoked while it runs.
      const { store } = openStore({ dataDir, keys: [key] });
      const kept = linkInStore(store, person(1)).tokens;
      const revoked = linkInStore(store, person(2)).tokens;
      store.close();
      const running = await startServer({
        DATA_DIR: dataDir,
        PUBLIC_PORT: String(port),
        INGRESS_PORT: String(ingressPort),
        INGRESS_TRUSTED_PROXIES: '127.0.0.1',
      });
      const ingressUrl = `http://127.0.0.1:${ingressPort}`;
      // The public listener is announced first; the ingress listener right after it.
      await vi.waitFor(() => expect(running.output()).toContain('Ingress listener on'), { timeout: 30_000 });
      const page = await ingress(ingressUrl, '/links', { user: person(2) });
      const revoke = await ingress(ingressUrl, '/links/revoke', { user: person(2), form: { grant: revoked.grant.id, confirm: '1', _csrf: csrfOf(page.body) } });
      expect(revoke.status).toBe(303);
      expect(revoke.headers.location).toMatch(/revoked=1$/);
      expect(await running.stop('SIGKILL')).toBeNull();
      for (const suffix of ['', '-wal', '-shm']) {
        const file = join(dataDir, `${DATABASE_FILE}${suffix}`);
        if (loss === 'removed') rmSync(file, { force: true });
        else if (existsSync(file)) truncateSync(file, 0);
      }

      const restored = await startTestServer({ encryption_key: key, log_level: 'info' }, dataDir);
      try {
        expect(restored.lines.find((l) => RESTORED.test(l))).toMatch(/Restored 1 link /);
        expect((await introspect(restored, revoked.accessToken, RS_SECRET)).json).toEqual({ active: false });
        expect((await refresh(restored, revoked.refreshToken)).json).toMatchObject({ error: 'invalid_grant' });
        expect((await refresh(restored, kept.refreshToken)).status).toBe(200);
      } finally {
        await restored.close();
      }
    });
  }
});

describe('the store tells when a revocation is on disk', () => {
  it('after the COMMIT of each kind of revocation, once, and never for one that was rolled back', async () => {
    const { store } = openStore();
    let told = 0;
    store.onRevocation(() => told++);
    const a = linkInStore(store, person(1)).tokens;
    const b = linkInStore(store, person(2)).tokens;
    const c = linkInStore(store, person(3)).tokens;
    expect(told).toBe(0);
    // In the panel (a transaction).
    expect(store.ops.revokeOwnLink(person(1).id, a.grant.id).status).toBe('revoked');
    expect(told).toBe(1);
    // Refresh-token reuse, in a group commit: told once the group's COMMIT is done.
    const first = await store.ops.refresh({ token: b.refreshToken, clientId: CLIENT_ID, lifetimes: LIFETIMES, origin: { ip: '192.0.2.1' } });
    if (first.status !== 'ok') throw new Error(first.status);
    await store.ops.refresh({ token: first.tokens.refreshToken, clientId: CLIENT_ID, lifetimes: LIFETIMES, origin: { ip: '192.0.2.1' } });
    const reuse = store.ops.refresh({ token: b.refreshToken, clientId: CLIENT_ID, lifetimes: LIFETIMES, origin: { ip: '192.0.2.1' } });
    expect(told).toBe(1);
    expect((await reuse).status).toBe('reuse');
    expect(told).toBe(2);
    // Rolled back: nothing to tell, and nothing left over for the next commit.
    expect(() =>
      store.transaction(() => {
        store.ops.revokeAllLinks(person(3).id);
        throw new Error('undo');
      }),
    ).toThrow('undo');
    store.transaction(() => store.audit.record('link_denied'));
    expect(told).toBe(2);
    expect(store.ops.revokeAllLinks(person(3).id)).toEqual([c.grant.id]);
    expect(told).toBe(3);
    store.close();
  });
});

describe('revoke --all', () => {
  it('ends every link of everyone and writes the snapshot, so a restore of it keeps them ended', async () => {
    const { store, dataDir, keys } = openStore();
    const links = [1, 2, 3].map((i) => linkInStore(store, person(i)).tokens);
    store.close();
    const result = await cli(['revoke', '--all'], dataDir, keys[0]!).done;
    expect(result.code).toBe(0);
    expect(result.output).toMatch(/^revoked 3 link\(s\)$/m);
    expect(result.output).toMatch(/^snapshot written: .*alexa-link-backup\.db$/m);
    const snapshot = new Database(join(dataDir, SNAPSHOT_FILE), { readonly: true });
    try {
      expect(snapshot.prepare('SELECT count(*) AS n FROM grants WHERE revoked_at IS NULL').get()).toEqual({ n: 0 });
      expect(snapshot.prepare('SELECT count(*) AS n FROM grants').get()).toEqual({ n: links.length });
    } finally {
      snapshot.close();
    }
  });
});

describe('the snapshot is owner-only, like the database', () => {
  it('is 0600 from the moment its temporary file exists, under the usual umask 022, from every writer', async () => {
    const umask = process.umask(0o022);
    try {
      const { store, dataDir, keys } = openStore();
      const mode = (file: string): number | undefined => (existsSync(file) ? statSync(file).mode & 0o777 : undefined);
      // What the temporary file is when SQLite starts writing into it, and when it has finished.
      const seen: (number | undefined)[] = [];
      const snapshot = store.snapshot.bind(store);
      store.snapshot = (file: string): void => {
        seen.push(mode(file));
        snapshot(file);
        seen.push(mode(file));
      };
      try {
        writeSnapshot(store, dataDir);
      } finally {
        store.close();
      }
      expect(seen).toEqual([0o600, 0o600]);
      expect(mode(join(dataDir, SNAPSHOT_FILE))).toBe(0o600);
      expect(mode(join(dataDir, DATABASE_FILE))).toBe(0o600);

      // backup_pre (the CLI, its own process) over an older world-readable snapshot.
      chmodSync(join(dataDir, SNAPSHOT_FILE), 0o644);
      const pre = await hook(config.backup_pre, dataDir, keys[0]!);
      expect(pre.code, pre.output).toBe(0);
      expect(mode(join(dataDir, SNAPSHOT_FILE))).toBe(0o600);

      // The snapshot a server writes when it starts without one, and on a clean stop.
      const server = await startTestServer({ log_level: 'info' });
      expect(mode(join(server.dataDir, SNAPSHOT_FILE))).toBe(0o600);
      await server.close();
      expect(mode(join(server.dataDir, SNAPSHOT_FILE))).toBe(0o600);
    } finally {
      process.umask(umask);
    }
  });
});

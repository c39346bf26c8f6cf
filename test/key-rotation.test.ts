/** Key rotation: at start-up in the background, and with the CLI (interrupted and resumed). */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { Fernet, generateFernetKey } from '../src/crypto/fernet.js';
import { Store } from '../src/store/index.js';
import { introspect, link as linkOverHttp, refresh } from './helpers/link.js';
import { RS_SECRET, startTestServer } from './helpers/oauth-server.js';
import { LIFETIMES, link as linkInStore, openStore } from './helpers/store.js';
import { tempDir } from './helpers/tmp.js';

const CLI = new URL('../dist/cli.js', import.meta.url).pathname;
const person = (i: number) => ({ id: `${String(i).padStart(4, '0')}${'f'.repeat(28)}`, name: `user${i}`, displayName: `User ${i}` });

function cli(dataDir: string, args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir }, encoding: 'utf8' });
}

function writeKeys(dataDir: string, keys: string[]): void {
  writeFileSync(
    join(dataDir, 'options.json'),
    JSON.stringify({
      encryption_key: keys[0],
      previous_encryption_keys: keys.slice(1),
      public_url: 'https://alexa.example.net',
      alexa_client_id: 'alexa-test-client',
      alexa_client_secret: 's'.repeat(40),
      alexa_vendor_id: 'M2AB3CD4EF5GH6',
    }),
  );
}

describe('rotation at start-up', () => {
  it('data under key A; start with B first and A previous: everything works and is moved to B; then B alone works', async () => {
    const keyA = generateFernetKey();
    const keyB = generateFernetKey();
    const dataDir = tempDir();
    const first = await startTestServer({ encryption_key: keyA }, dataDir);
    const linked = await linkOverHttp(first, person(1));
    await first.close();

    const rotating = await startTestServer({ encryption_key: keyB, previous_encryption_keys: [keyA] }, dataDir);
    expect((await introspect(rotating, linked.accessToken, RS_SECRET)).json).toMatchObject({ active: true, sub: person(1).id });
    await rotating.app.reencryption;
    expect(rotating.lines.some((line) => line.includes('"previous_encryption_keys" can now be emptied'))).toBe(true);
    expect(rotating.app.store.keyUsage().perKey[1]).toBe(0);
    await rotating.close();

    const rotated = await startTestServer({ encryption_key: keyB }, dataDir);
    try {
      expect((await introspect(rotated, linked.accessToken, RS_SECRET)).json).toMatchObject({ active: true, sub: person(1).id, username: 'user1' });
      expect((await refresh(rotated, linked.refreshToken)).status).toBe(200);
      expect(rotated.app.store.grants.listForSubject(person(1).id)).toHaveLength(1);
    } finally {
      await rotated.close();
    }
  });
});

describe('rotate-key (CLI)', () => {
  it('finishes correctly when interrupted midway and run again', async () => {
    const keyA = generateFernetKey();
    const keyB = generateFernetKey();
    const { store, dataDir } = openStore({ keys: [keyA] });
    const tokens = Array.from({ length: 150 }, (_, i) => linkInStore(store, person(i)).tokens);
    store.close();
    writeKeys(dataDir, [keyB, keyA]);

    // Kill it (SIGKILL, no chance to clean up) as soon as it reports its first progress.
    const child = spawn(process.execPath, [CLI, 'rotate-key', '--batch', '1'], {
      env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const progress = createInterface({ input: child.stderr });
    await new Promise<void>((resolve) => progress.once('line', () => resolve()));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));

    const midway = Store.open({ dataDir, encryptionKeys: [keyB, keyA] });
    const partly = midway.keyUsage();
    midway.close();
    expect(partly.perKey[0]).toBeGreaterThan(0);
    expect(partly.perKey[1]).toBeGreaterThan(0);

    const rerun = cli(dataDir, ['rotate-key', '--batch', '50']);
    expect(rerun.status).toBe(0);
    expect(rerun.stdout).toContain('previous_encryption_keys can be emptied');
    expect(rerun.stderr).toMatch(/rotate-key: grants \d+\/150/);

    writeKeys(dataDir, [keyB]);
    const check = cli(dataDir, ['check']);
    expect(check.status).toBe(0);
    expect(check.stdout).toContain('integrity: ok');
    const onlyB = Store.open({ dataDir, encryptionKeys: [keyB] });
    try {
      expect(onlyB.keyUsage().unreadable).toBe(0);
      for (const [i, issued] of tokens.entries()) expect(onlyB.tokens.introspect(issued.accessToken, LIFETIMES)?.grant.subject.id).toBe(person(i).id);
    } finally {
      onlyB.close();
    }
    // And key A alone no longer opens it.
    writeKeys(dataDir, [keyA]);
    expect(cli(dataDir, ['check']).stderr).toMatch(/None of the 1 configured encryption key/);
  });
});

describe('the other CLI commands', () => {
  it('generate-key prints a key Fernet accepts; unknown commands print usage with exit code 2', () => {
    const dataDir = tempDir();
    const generated = cli(dataDir, ['generate-key']);
    expect(generated.status).toBe(0);
    expect(() => new Fernet(generated.stdout.trim())).not.toThrow();
    expect(generated.stderr).toContain('!secret alexa_link_encryption_key');
    const unknown = cli(dataDir, ['frobnicate']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('Usage: node dist/cli.js');
  });

  it("revoke --user revokes every link of that user and nobody else's", () => {
    const key = generateFernetKey();
    const { store, dataDir } = openStore({ keys: [key] });
    const a1 = linkInStore(store, person(1)).tokens;
    const a2 = linkInStore(store, person(1)).tokens;
    const b = linkInStore(store, person(2)).tokens;
    store.close();
    writeKeys(dataDir, [key]);
    const result = cli(dataDir, ['revoke', '--user', person(1).id]);
    expect(result.stdout).toMatch(/^revoked 2 link\(s\)$/m);
    expect(cli(dataDir, ['revoke']).status).toBe(2);
    const after = Store.open({ dataDir, encryptionKeys: [key] });
    try {
      expect(after.tokens.introspect(a1.accessToken, LIFETIMES)).toBeUndefined();
      expect(after.tokens.introspect(a2.accessToken, LIFETIMES)).toBeUndefined();
      expect(after.tokens.introspect(b.accessToken, LIFETIMES)?.grant.subject.id).toBe(person(2).id);
    } finally {
      after.close();
    }
  });
});

/**
 * The add-on as the Supervisor sees it, written from home-assistant/supervisor's source (2026-08;
 * the Supervisor itself cannot run here, so its rules are played):
 * - "Add repository" validates `repository.{yaml,yml,json}` at the root (`store/repository.py`
 *   `RepositoryGit.validate`, schema `store/validate.py` SCHEMA_REPOSITORY_CONFIG);
 * - the store reads every `**\/config.*` with a suffix of .yaml/.yml/.json whose path has no part
 *   starting with "." and none called "rootfs" (`store/data.py` `_find_app_configs`); on a clone,
 *   so the files git tracks;
 * - a backup archives the data folder minus `backup_exclude` and runs the hooks only while the app
 *   runs (`apps/app.py` `begin_backup`, `_is_excluded_by_filter`); a restore replaces the data folder.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { SNAPSHOT_FILE } from '../src/backup.js';
import { introspect, type Linked, link, refresh } from './helpers/link.js';
import { RS_SECRET, startTestServer, type TestServer } from './helpers/oauth-server.js';
import { supervisorBackup, supervisorRestore } from './helpers/supervisor-backup.js';
import { tempDir } from './helpers/tmp.js';

const root = new URL('../', import.meta.url).pathname;
const CLI = join(root, 'dist/cli.js');
const FILE_SUFFIX_CONFIGURATION = ['.yaml', '.yml', '.json'];
const SLUG = 'a0d7b954_alexa_link';

/** YAML 1.1 like the Supervisor's PyYAML loader. */
const readYaml = (path: string): Record<string, unknown> => parseYaml(readFileSync(join(root, path), 'utf8'), { version: '1.1' }) as Record<string, unknown>;
const addonConfig = readYaml('config.yaml') as { backup_pre: string; backup_post: string; backup_exclude: string[] };

/** What a clone of the repository holds: the files git tracks plus new ones not ignored (this change). */
function repositoryFiles(): string[] {
  return execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
}

/** `_find_app_configs`: `path.glob("**\/config.*")`, no part starting with "." or named "rootfs", a configuration suffix. */
function appConfigs(files: string[]): string[] {
  return files.filter((file) => {
    const parts = file.split('/');
    return (
      basename(file).startsWith('config.') &&
      FILE_SUFFIX_CONFIGURATION.includes(extname(file)) &&
      !parts.some((part) => part.startsWith('.') || part === 'rootfs')
    );
  });
}

/** SCHEMA_REPOSITORY_CONFIG: name required (str), url optional (vol.Url: scheme and host), maintainer optional (str). */
function validRepositoryConfig(data: unknown): string[] {
  if (typeof data !== 'object' || data === null) return ['not a mapping'];
  const config = data as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof config.name !== 'string') problems.push('name is required and must be a string');
  if ('url' in config) {
    try {
      const url = new URL(String(config.url));
      if (!/^https?:$/.test(url.protocol) || !url.host) problems.push('url is not a URL');
    } catch {
      problems.push('url is not a URL');
    }
  }
  if ('maintainer' in config && typeof config.maintainer !== 'string') problems.push('maintainer must be a string');
  return problems;
}

describe("the repository, as the Supervisor's store reads it", () => {
  it('has a valid repository.yaml at the root, and no other repository file', () => {
    const files = repositoryFiles();
    const repositoryFilesFound = files.filter((file) => /^repository\./.test(basename(file)) && FILE_SUFFIX_CONFIGURATION.includes(extname(file)));
    // The store's second reader globs **/repository.* and takes the first: only the root one may exist.
    expect(repositoryFilesFound).toEqual(['repository.yaml']);
    const repository = readYaml('repository.yaml');
    expect(validRepositoryConfig(repository)).toEqual([]);
    expect(repository).toMatchObject({ name: expect.any(String), url: expect.stringMatching(/^https:\/\//), maintainer: expect.any(String) });
  });

  it('finds exactly one app configuration: ours', () => {
    expect(appConfigs(repositoryFiles())).toEqual(['config.yaml']);
  });

  it('the config scan would catch a stray config file (the check itself works)', () => {
    expect(
      appConfigs(['config.yaml', 'test/fixtures/addon-linter/config.schema.json', '.github/config.yml', 'rootfs/etc/config.json', 'docs/config.md']),
    ).toEqual(['config.yaml', 'test/fixtures/addon-linter/config.schema.json']);
  });
});

const person = (i: number) => ({ id: `${String(i).padStart(4, '0')}${'c'.repeat(28)}`, name: `member${i}` });

/** The CLI hook as the Supervisor runs it (docker exec): `node /app/dist/cli.js <command>` in the running container. */
function runHook(command: string, dataDir: string): Promise<number | null> {
  const [program, script, ...args] = command.split(' ');
  expect([program, script]).toEqual(['node', '/app/dist/cli.js']);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir }, stdio: 'ignore' });
    child.on('exit', resolve);
  });
}

/** Every archived file, read whole: none may hold the key, as text or as its bytes. */
function expectNoKey(archiveDir: string, archived: string[], key: string): void {
  const raw = Buffer.from(key, 'base64url');
  const needles = [Buffer.from(key), raw, raw.subarray(0, 16), raw.subarray(16)];
  for (const file of archived) {
    const content = readFileSync(join(archiveDir, file));
    for (const needle of needles) expect(content.includes(needle), `${file} holds the encryption key`).toBe(false);
  }
}

async function backupAndRestore(mode: 'running' | 'stopped'): Promise<void> {
  const source = await startTestServer({ log_level: 'info' });
  const key = source.options.encryption_key as string;
  const linked: Linked[] = [];
  for (let i = 0; i < 3; i++) linked.push(await link(source, person(i)));
  // The user keeps the key in secrets.yaml; the Supervisor stores the options as entered.
  const userOptions = { ...source.options, encryption_key: '!secret alexa_link_encryption_key' };
  const archive = join(tempDir(), 'backup.tar');

  let archived: string[];
  if (mode === 'running') {
    expect(await runHook(addonConfig.backup_pre, source.dataDir)).toBe(0);
    archived = supervisorBackup({ dataDir: source.dataDir, slug: SLUG, exclude: addonConfig.backup_exclude, archive, userOptions, state: 'started' });
    expect(await runHook(addonConfig.backup_post, source.dataDir)).toBe(0);
    await source.close();
  } else {
    await source.close();
    archived = supervisorBackup({ dataDir: source.dataDir, slug: SLUG, exclude: addonConfig.backup_exclude, archive, userOptions, state: 'stopped' });
  }
  expect(archived).toContain(SNAPSHOT_FILE);
  expect(archived.filter((file) => file.startsWith('alexa-link.db') || file === 'options.json')).toEqual([]);
  expectNoKey(source.dataDir, archived, key);
  expect(JSON.stringify(supervisorRestore(archive, tempDir()).addon)).not.toContain(key);

  const target = tempDir();
  const { restored } = supervisorRestore(archive, target);
  expect(restored).toEqual([...archived].sort());
  // The Supervisor writes options.json (secrets resolved) before the start; startTestServer does the same here.
  const server: TestServer = await startTestServer({ ...source.options, encryption_key: key, log_level: 'info' }, target);
  try {
    expect(
      server.lines.some((line) => /Restored 3 links from the backup snapshot of /.test(line)),
      server.lines.join('\n'),
    ).toBe(true);
    for (const [i, probe] of linked.entries()) {
      expect((await introspect(server, probe.accessToken, RS_SECRET)).json).toMatchObject({ active: true, sub: person(i).id });
      const refreshed = await refresh(server, probe.refreshToken);
      expect(refreshed.status).toBe(200);
      expect((await introspect(server, refreshed.json!.access_token as string, RS_SECRET)).json).toMatchObject({ active: true, sub: person(i).id });
    }
  } finally {
    await server.close();
  }
}

describe('backups as the Supervisor takes them', () => {
  it('while the add-on runs (hooks run): the restore starts with every link, and no archived file holds the key', async () => {
    await backupAndRestore('running');
  });

  it('while the add-on is stopped (no hooks): the same', async () => {
    await backupAndRestore('stopped');
  });

  it('an options.json in the data folder is left out of the archive', () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, 'options.json'), '{"encryption_key": "x"}');
    writeFileSync(join(dataDir, SNAPSHOT_FILE), 'snapshot');
    const archived = supervisorBackup({
      dataDir,
      slug: SLUG,
      exclude: addonConfig.backup_exclude,
      archive: join(tempDir(), 'b.tar'),
      userOptions: {},
      state: 'stopped',
    });
    expect(archived).toEqual([SNAPSHOT_FILE]);
  });
});

/**
 * The CLI as a program: started through a symbolic link (an admin's `~/bin/alexa-link`, a linked
 * folder such as `/app`) it must run its command, not print nothing and exit 0.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SNAPSHOT_FILE } from '../src/backup.js';
import { tempDir } from './helpers/tmp.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const DIST = dirname(CLI);

function run(program: string, args: string[], dataDir = tempDir()) {
  return spawnSync(process.execPath, [program, ...args], { env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir }, encoding: 'utf8' });
}

/** The three ways a path can reach dist/cli.js other than its own name. */
function linkedPaths(): Array<[string, string]> {
  const dir = tempDir();
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(CLI, join(bin, 'alexa-link'));
  symlinkSync(CLI, join(dir, 'cli.js'));
  symlinkSync(DIST, join(dir, 'app'));
  return [
    ['a link without .js', join(bin, 'alexa-link')],
    ['a link named cli.js elsewhere', join(dir, 'cli.js')],
    ['a linked folder', join(dir, 'app', 'cli.js')],
  ];
}

describe('the CLI through a symbolic link', () => {
  it.each(linkedPaths())('%s runs generate-key', (_name, program) => {
    const result = run(program, ['generate-key']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^[A-Za-z0-9_-]{43}=\n$/);
    expect(result.stderr).toContain('!secret alexa_link_encryption_key');
  });

  it.each(linkedPaths())('%s runs backup-snapshot, which writes the snapshot', (_name, program) => {
    const dataDir = tempDir();
    const result = run(program, ['backup-snapshot'], dataDir);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(`snapshot written: ${join(dataDir, SNAPSHOT_FILE)}`);
    expect(existsSync(join(dataDir, SNAPSHOT_FILE))).toBe(true);
  });

  it('still runs by its own path and without .js, and an unknown command still fails with the usage', () => {
    expect(run(CLI, ['generate-key']).stdout).toMatch(/^[A-Za-z0-9_-]{43}=\n$/);
    expect(run(CLI.replace(/\.js$/, ''), ['generate-key']).stdout).toMatch(/^[A-Za-z0-9_-]{43}=\n$/);
    const unknown = run(CLI, ['frobnicate']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('Usage: node dist/cli.js');
  });
});

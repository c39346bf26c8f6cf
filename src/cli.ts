/**
 * Key and maintenance operations for the admin (and the backup hooks):
 *
 *   node dist/cli.js generate-key             print a new Fernet key and the !secret lines
 *   node dist/cli.js generate-secret          print a new client secret (Alexa console, Music Assistant)
 *   node dist/cli.js check                    integrity, which keys open the data, counts
 *   node dist/cli.js rotate-key [--batch N]   re-encrypt every value under the first key (resumable); a
 *                                             new index key if the server has not made one yet
 *   node dist/cli.js revoke --user <HA id>    revoke every link of a Home Assistant user
 *   node dist/cli.js revoke --all             revoke every link of everyone
 *   node dist/cli.js backup-snapshot          consistent copy for a backup (backup_pre)
 *   node dist/cli.js backup-cleanup           remove temporary files after a backup (backup_post)
 *
 * It reads the same options and environment as the server (DATA_DIR=/data in the add-on) and
 * may run while the server runs: SQLite's WAL lets both work on the database.
 */
import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { removeSnapshotLeftovers, writeSnapshot } from './backup.js';
import { type Config, loadConfig } from './config/load.js';
import { TUNABLES } from './config/tunables.js';
import { generateFernetKey } from './crypto/fernet.js';
import { StartupError } from './errors.js';
import { HA_USER_ID } from './server/ingress-guard.js';
import { previousKeysInUse, Store } from './store/index.js';

const USAGE = `Usage: node dist/cli.js <command>
  generate-key             print a new encryption key and how to store it with !secret
  generate-secret          print a new client secret for the Alexa console or Music Assistant
  check                    check the database: integrity, which keys open it, counts
  rotate-key [--batch N]   re-encrypt every value under the first key (safe to interrupt and rerun);
                           after a key change, the first opening also replaces the index key
  revoke --user <id>       revoke every Alexa link of a Home Assistant user id
  revoke --all             revoke every Alexa link of everyone (after restoring an older backup)
  backup-snapshot          write a consistent snapshot for a backup
  backup-cleanup           remove temporary files after a backup (the snapshot stays)`;

type Out = (line: string) => void;

function withStore<T>(fn: (store: Store, config: Config) => T): T {
  const config = loadConfig();
  const store = Store.open({ dataDir: config.dataDir, encryptionKeys: config.encryptionKeys });
  try {
    return fn(store, config);
  } finally {
    store.close();
  }
}

function option(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

export function run(args: string[], out: Out = (line) => process.stdout.write(`${line}\n`), err: Out = (line) => process.stderr.write(`${line}\n`)): number {
  const [command] = args;
  switch (command) {
    case 'generate-key': {
      const key = generateFernetKey();
      out(key);
      err('');
      err('Put it in Home Assistant\'s secrets.yaml:   alexa_link_encryption_key: "<the key above>"');
      err('and set the add-on option:               encryption_key: "!secret alexa_link_encryption_key"');
      err('To change keys, move the old key to previous_encryption_keys and run rotate-key (or restart).');
      return 0;
    }
    case 'generate-secret': {
      // 256 bits in base64url: no "+", "/" or "=", so no client or form can mangle it on the way.
      out(randomBytes(32).toString('base64url'));
      err('');
      err('Paste it as "Your Secret" in the Alexa developer console (Account Linking) and as the option');
      err('alexa_client_secret (or, for Music Assistant, as resource_server_secret), ideally with !secret.');
      return 0;
    }
    case 'check':
      return withStore((store) => {
        const integrity = store.integrityCheck();
        const usage = store.keyUsage();
        out(`database:  ${store.file}`);
        out(`integrity: ${integrity.join('; ')}`);
        for (const [index, count] of usage.perKey.entries())
          out(
            `key ${index + 1}${index === 0 ? ' (encryption_key)' : ' (previous)'}: opens ${count} values${index > 0 && count === 0 ? ' — no longer needed' : ''}`,
          );
        if (usage.unreadable > 0) out(`values no configured key opens: ${usage.unreadable}`);
        for (const [name, count] of Object.entries(store.counts())) out(`${name}: ${count}`);
        return integrity.length === 1 && integrity[0] === 'ok' && usage.unreadable === 0 ? 0 : 1;
      });
    case 'rotate-key': {
      const batch = Number(option(args, '--batch') ?? TUNABLES.store.cliReencryptBatch);
      if (!Number.isInteger(batch) || batch < 1 || batch > 100_000) {
        err('--batch takes a whole number from 1 to 100000');
        return 2;
      }
      return withStore((store, config) => {
        if (store.rotation) {
          // The server makes it at its start; here the add-on was stopped (index-key.ts).
          const { dropped } = store.rotation;
          out(
            `rotate-key: a new index key replaces the old one; pending link requests (${dropped.pending_requests ?? 0}) and sessions (${dropped.sessions ?? 0}) were dropped, every link keeps working`,
          );
        }
        let lastTable = '';
        const result = store.reencrypt({
          batchSize: batch,
          onProgress: ({ table, done, total }) => {
            if (table !== lastTable || done === total || done % (batch * 20) === 0) err(`rotate-key: ${table} ${done}/${total}`);
            lastTable = table;
          },
        });
        const usage = store.keyUsage();
        out(`rotate-key: ${result.reencrypted} values re-encrypted, ${result.current} already under the current key`);
        const stillNeeded = previousKeysInUse(usage);
        // The backup snapshot too: it must not need a key that is about to go.
        if (!stillNeeded && usage.unreadable === 0) writeSnapshot(store, config.dataDir);
        out(
          stillNeeded
            ? 'Some values still need a previous key (written meanwhile?): run rotate-key again.'
            : 'Every value is under the current key (the backup snapshot too): previous_encryption_keys can be emptied.',
        );
        return stillNeeded || usage.unreadable > 0 ? 1 : 0;
      });
    }
    case 'revoke': {
      if (args.includes('--all')) {
        return withStore((store, config) => {
          store.onRevocation(() => out(`snapshot written: ${writeSnapshot(store, config.dataDir)}`));
          out(`revoked ${store.ops.revokeEveryLink()} link(s)`);
          return 0;
        });
      }
      const user = option(args, '--user');
      if (!user || !HA_USER_ID.test(user)) {
        err('revoke needs --user <Home Assistant user id> (Settings → People → Users → the user, advanced mode), or --all');
        return 2;
      }
      return withStore((store, config) => {
        // As the server does after every revocation: a restore of the snapshot keeps them revoked.
        store.onRevocation(() => out(`snapshot written: ${writeSnapshot(store, config.dataDir)}`));
        out(`revoked ${store.ops.revokeAllLinks(user).length} link(s)`);
        return 0;
      });
    }
    case 'backup-snapshot':
      return withStore((store, config) => {
        out(`snapshot written: ${writeSnapshot(store, config.dataDir)}`);
        return 0;
      });
    case 'backup-cleanup': {
      const config = loadConfig();
      const removed = removeSnapshotLeftovers(config.dataDir);
      out(`${removed} temporary file(s) removed; the snapshot stays for backups taken while the add-on is stopped`);
      return 0;
    }
    default:
      err(USAGE);
      return command === undefined || command === '--help' || command === 'help' ? 0 : 2;
  }
}

const realPath = (file: string): string | undefined => {
  try {
    return realpathSync(file);
  } catch {
    return undefined;
  }
};

/**
 * Whether node was started with this file (not a test importing it). Node runs a symlinked entry
 * point by its real path, which `import.meta.url` names, while `process.argv[1]` keeps the path as
 * typed: the link, a linked folder (`/app` → elsewhere), or no `.js`. So real paths are compared;
 * comparing the URLs made a run through a link print nothing and exit 0, and `backup-snapshot`
 * "succeed" without writing anything.
 */
export function isMainModule(entry: string | undefined, moduleUrl: string): boolean {
  if (!entry) return false;
  const self = realPath(fileURLToPath(moduleUrl));
  return self !== undefined && [entry, `${entry}.js`].some((candidate) => realPath(candidate) === self);
}

// Run only as a program, not when imported by tests.
if (isMainModule(process.argv[1], import.meta.url)) {
  try {
    process.exitCode = run(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof StartupError ? error.message : `Failed: ${(error as Error).message}`}\n`);
    process.exitCode = 1;
  }
}

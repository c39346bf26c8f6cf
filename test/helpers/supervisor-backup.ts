/**
 * The Supervisor's backup and restore of an app's data folder, played in Python as the Supervisor
 * (Python) does it; the real Supervisor cannot run here. Written from home-assistant/supervisor
 * (2026-08, `supervisor/apps/app.py`):
 * - `backup()` archives `path_data` (`/data/apps/data/<slug>` on its side) under `data/`; each
 *   item is dropped when `full_path.match(pattern)` for a `backup_exclude` pattern, where
 *   `full_path` is that Supervisor-side path (`_is_excluded_by_filter`); an excluded folder drops
 *   everything below it (securetar's `atomic_contents_add` skips it). Beside the data it stores
 *   `addon.json` with the user's options as entered (a `!secret` stays a reference).
 * - `restore()` removes the data folder and copies the archive's `data/` in its place; the
 *   Supervisor writes `options.json` (secrets resolved) before the app starts.
 * Hooks (`backup_pre`/`backup_post`) are the caller's: they run only while the app runs.
 */
import { spawnSync } from 'node:child_process';
import { PYTHON } from './python.js';

export const SUPERVISOR_DATA_ROOT = '/data/apps/data';

const SCRIPT = `
import json, os, sys, tarfile, io
from pathlib import PurePosixPath
request = json.load(sys.stdin)

def excluded(full_path):
    return any(full_path.match(pattern) for pattern in request["exclude"])

if request["op"] == "backup":
    origin = request["dataDir"]
    supervisor_side = PurePosixPath(request["root"]) / request["slug"]
    archived = []
    with tarfile.open(request["archive"], "w") as tar:
        meta = json.dumps({"user": {"options": request["userOptions"]}, "state": request["state"]}).encode()
        info = tarfile.TarInfo("addon.json"); info.size = len(meta)
        tar.addfile(info, io.BytesIO(meta))
        for folder, dirs, files in os.walk(origin):
            relative_folder = os.path.relpath(folder, origin)
            kept = []
            for name in sorted(dirs):
                relative = os.path.normpath(os.path.join(relative_folder, name))
                if not excluded(supervisor_side / relative):
                    kept.append(name)
            dirs[:] = kept
            for name in sorted(files):
                relative = os.path.normpath(os.path.join(relative_folder, name))
                if excluded(supervisor_side / relative):
                    continue
                tar.add(os.path.join(folder, name), arcname="data/" + relative, recursive=False)
                archived.append(relative)
    print(json.dumps({"archived": archived}))
else:
    target = request["target"]
    os.makedirs(target, exist_ok=True)
    if os.listdir(target):
        raise SystemExit("restore target must be empty (the Supervisor removes the data folder first)")
    with tarfile.open(request["archive"]) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith("data/")]
        for member in members:
            member.name = member.name[len("data/"):]
        tar.extractall(target, members=members)
        addon = json.load(tar.extractfile("addon.json"))
    print(json.dumps({"restored": sorted(m.name for m in members), "addon": addon}))
`;

function run<T>(request: Record<string, unknown>): T {
  const result = spawnSync(PYTHON, ['-c', SCRIPT], { input: JSON.stringify(request), encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`the Supervisor stand-in failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** Archives `dataDir` as the Supervisor would; returns the archived paths (relative to the data folder). */
export function supervisorBackup(options: {
  dataDir: string;
  slug: string;
  exclude: string[];
  archive: string;
  userOptions: Record<string, unknown>;
  state: 'started' | 'stopped';
}): string[] {
  return run<{ archived: string[] }>({ op: 'backup', root: SUPERVISOR_DATA_ROOT, ...options }).archived;
}

/** Restores an archive into an empty folder; returns the restored paths and the archived add-on metadata. */
export function supervisorRestore(archive: string, target: string): { restored: string[]; addon: { user: { options: Record<string, unknown> } } } {
  return run({ op: 'restore', archive, target });
}

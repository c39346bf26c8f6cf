/** Runs Python's `cryptography.fernet` as a subprocess: the interop peer (Music Assistant is Python). */
import { spawnSync } from 'node:child_process';

export const PYTHON = process.env.PYTHON ?? 'python3';

const SCRIPT = `
import json, sys
from cryptography.fernet import Fernet, InvalidToken
request = json.load(sys.stdin)
f = Fernet(request["key"].encode())
if request["op"] == "encrypt":
    print(json.dumps({"token": f.encrypt(request["data"].encode()).decode()}))
else:
    try:
        print(json.dumps({"data": f.decrypt(request["token"].encode()).decode()}))
    except InvalidToken:
        print(json.dumps({"invalid": True}))
`;

export function python(request: { op: 'encrypt'; key: string; data: string } | { op: 'decrypt'; key: string; token: string }): {
  token?: string;
  data?: string;
  invalid?: boolean;
} {
  const result = spawnSync(PYTHON, ['-c', SCRIPT], { input: JSON.stringify(request), encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`python failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as { token?: string; data?: string; invalid?: boolean };
}

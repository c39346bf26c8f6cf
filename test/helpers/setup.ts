/** A Config from options, through the real loader, without starting a server (for the Setup checks' pure parts). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Config, loadConfig } from '../../src/config/load.js';
import { generateFernetKey } from '../../src/crypto/fernet.js';
import { CLIENT_ID, CLIENT_SECRET, RS_SECRET, VENDOR_ID } from './fixtures.js';
import { tempDir } from './tmp.js';

/** `null` leaves an option unset (the loader treats it as absent). */
export function loadConfigFor(overrides: Record<string, unknown> = {}, env: Record<string, string> = {}): Config {
  const dataDir = tempDir();
  const options = {
    encryption_key: generateFernetKey(),
    public_url: 'https://alexa.example.net',
    alexa_client_id: CLIENT_ID,
    alexa_client_secret: CLIENT_SECRET,
    alexa_vendor_id: VENDOR_ID,
    resource_server_secret: RS_SECRET,
    ...overrides,
  };
  writeFileSync(join(dataDir, 'options.json'), JSON.stringify(options));
  return loadConfig({ DATA_DIR: dataDir, HOST: '127.0.0.1', PUBLIC_PORT: '8443', INGRESS_PORT: '0', ...env });
}

/**
 * The add-on's packaging files agree with the linter, with each other and with the code:
 * config.yaml (against Home Assistant's add-on linter schema and its extra rules),
 * translations/en.yaml, the Dockerfile, apparmor.txt, package.json and src/config.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import * as mdi from '@mdi/js';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_INGRESS_PORT, DEFAULT_PUBLIC_PORT, FIRST_RUN_OPTIONS, parseOptions } from '../src/config/load.js';
import { LOG_LEVELS, OPTION_NAMES, OPTIONS } from '../src/config/options.js';
import { ConfigError } from '../src/errors.js';
import { argDefaults, dockerInstructions, keyValues, substitute } from './helpers/dockerfile.js';
import { SERVER_NODE_FLAGS } from './helpers/server-process.js';

const root = new URL('../', import.meta.url);
const readText = (path: string): string => readFileSync(new URL(path, root), 'utf8');

type Dict = Record<string, unknown>;
/** YAML 1.1, like the PyYAML SafeLoader that the Supervisor and the linter read config.yaml with. */
const readYaml = (path: string): Dict => parseYaml(readText(path), { version: '1.1' }) as Dict;

const config = readYaml('config.yaml');
const translations = readYaml('translations/en.yaml');
const packageJson = JSON.parse(readText('package.json')) as { version: string };
const linterSchema = JSON.parse(readText('test/fixtures/addon-linter/addon-config.schema.json')) as {
  properties: Record<string, { default?: unknown }>;
};

const options = config.options as Dict;
const schema = config.schema as Record<string, string | string[]>;
const configuration = translations.configuration as Record<string, { name?: unknown; description?: unknown }>;

const sorted = (names: Iterable<string>): string[] => [...names].sort();

/** The Supervisor type string of a schema entry; a list option (`[type]`) gives its element type. */
function typeOf(name: string): string {
  const entry = schema[name];
  const type = Array.isArray(entry) ? entry[0] : entry;
  if (typeof type !== 'string') throw new Error(`schema.${name} is neither a type string nor a one-element list of one`);
  return type;
}

// --- Dockerfile -------------------------------------------------------------------------------

const dockerfile = dockerInstructions(readText('Dockerfile'));
const firstFrom = dockerfile.findIndex((i) => i.keyword === 'FROM');
const lastFrom = dockerfile.map((i) => i.keyword).lastIndexOf('FROM');

const globalArgs = argDefaults(dockerfile.slice(0, firstFrom));
const finalStageArgs = argDefaults(dockerfile.slice(lastFrom + 1));

// --- config.yaml against the linter ------------------------------------------------------------

describe('config.yaml against the add-on linter (frenck/action-addon-linter)', () => {
  it('validates against the linter schema', () => {
    // The schema was written for Python's jsonschema: the `services` pattern uses Python's named
    // group syntax `(?P<name>...)`, which JavaScript regular expressions reject. Rewrite it to the
    // equivalent `(?<name>...)` before compiling.
    const schemaText = readText('test/fixtures/addon-linter/addon-config.schema.json').replaceAll('(?P<', '(?<');
    // strict: false because Ajv's strict mode refuses parts of this schema that draft-07 allows
    // (union types such as apparmor's ["string", "boolean"], formats it does not know).
    // validateFormats: false because the linter's Draft7Validator runs without a format checker,
    // so `format` (email, uri-reference) only annotates there too.
    const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
    const validate = ajv.compile(JSON.parse(schemaText) as object);
    const valid = validate(config);
    const errors = (validate.errors ?? []).map((error) => `  ${error.instancePath || '(top level)'} ${error.message ?? ''} ${JSON.stringify(error.params)}`);
    expect(valid, `config.yaml does not validate against the linter schema:\n${errors.join('\n')}`).toBe(true);
  });

  it('sets no key to its schema default value (the linter rejects those)', () => {
    const atDefault = Object.entries(linterSchema.properties)
      .filter(([key, property]) => 'default' in property && key in config && isDeepStrictEqual(config[key], property.default))
      .map(([key, property]) => `${key}: ${JSON.stringify(property.default)}`);
    expect(atDefault, `remove these keys from config.yaml, they repeat the default: ${atDefault.join(', ')}`).toEqual([]);
  });

  it('has no watchdog (obsolete: the Dockerfile HEALTHCHECK is used)', () => {
    expect(config, 'config.yaml must not set watchdog').not.toHaveProperty('watchdog');
  });

  it('has no backup hooks with cold backups', () => {
    if ('backup_pre' in config || 'backup_post' in config) {
      expect(config.backup, 'backup_pre/backup_post need hot backups (backup must not be "cold")').not.toBe('cold');
    }
  });

  it('has no webui when ingress is on', () => {
    if (config.ingress === true) expect(config, 'webui must be removed with ingress').not.toHaveProperty('webui');
  });
});

// --- config.yaml: what this add-on needs ------------------------------------------------------

describe('config.yaml settings of this add-on', () => {
  it('runs without an init system (run.sh execs node as PID 1)', () => {
    expect(config.init, 'init must be false').toBe(false);
  });

  it('starts the server with the V8 flags the tests use (run.sh and npm start)', () => {
    const flags = SERVER_NODE_FLAGS.join(' ');
    const exec = readText('run.sh')
      .split('\n')
      .filter((line) => /^exec node\b/.test(line));
    expect(exec, 'run.sh exec line').toEqual([`exec node ${flags} /app/dist/main.js "$@"`]);
    const scripts = (JSON.parse(readText('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.start, 'package.json start').toBe(`npm run build && node ${flags} dist/main.js`);
  });

  it('has an ingress panel open to non-admin household members', () => {
    expect(config.ingress, 'ingress must be true').toBe(true);
    expect(config.panel_admin, 'panel_admin must be false').toBe(false);
  });

  it('uses the Home Assistant API', () => {
    expect(config.homeassistant_api, 'homeassistant_api must be true').toBe(true);
  });

  it('is built for aarch64 and amd64 only', () => {
    expect(sorted(config.arch as string[]), 'arch must be exactly [aarch64, amd64]').toEqual(['aarch64', 'amd64']);
  });

  it('maps ssl read-only', () => {
    const map = (config.map ?? []) as Array<string | { type: string; read_only?: boolean }>;
    const ssl = map.filter((entry) => (typeof entry === 'string' ? entry.split(':')[0] : entry.type) === 'ssl');
    expect(ssl, 'map must contain ssl exactly once').toHaveLength(1);
    const entry = ssl[0]!;
    const readOnly = typeof entry === 'string' ? !entry.endsWith(':rw') : entry.read_only !== false;
    expect(readOnly, 'ssl must be mapped read-only').toBe(true);
  });

  it('excludes the live database files and options.json (it holds the resolved key) from backups', () => {
    expect(config.backup_exclude, 'backup_exclude must list the database, its WAL/SHM files and options.json').toEqual(
      expect.arrayContaining(['alexa-link.db', 'alexa-link.db-wal', 'alexa-link.db-shm', 'options.json']),
    );
  });

  it("has a sidebar icon that exists in @mdi/js, the icon set Home Assistant's frontend ships", () => {
    const icon = config.panel_icon;
    expect(icon).toMatch(/^mdi:[a-z0-9-]+$/);
    // The frontend's name for mdi:speaker-message is mdiSpeakerMessage.
    const exported = `mdi${String(icon)
      .slice(4)
      .split('-')
      .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
      .join('')}`;
    expect(Object.keys(mdi), `${exported} is not in @mdi/js`).toContain(exported);
  });

  it('runs the CLI snapshot and cleanup as backup hooks', () => {
    expect(config.backup_pre).toBe('node /app/dist/cli.js backup-snapshot');
    expect(config.backup_post).toBe('node /app/dist/cli.js backup-cleanup');
  });

  it('asks for no Supervisor API, host network, privileges or Docker access', () => {
    const forbidden = ['hassio_api', 'hassio_role', 'host_network', 'privileged', 'full_access', 'docker_api'];
    expect(
      forbidden.filter((key) => key in config),
      'config.yaml must not set these keys',
    ).toEqual([]);
  });
});

// --- option names and values ------------------------------------------------------------------

describe('options: config.yaml, translations and src/config/options.ts agree', () => {
  it('config.yaml schema names exactly the options of OPTIONS', () => {
    expect(sorted(Object.keys(schema)), 'config.yaml schema keys vs OPTION_NAMES').toEqual(sorted(OPTION_NAMES));
  });

  it('translations/en.yaml names exactly the options of OPTIONS', () => {
    expect(sorted(Object.keys(configuration)), 'translations configuration keys vs OPTION_NAMES').toEqual(sorted(OPTION_NAMES));
  });

  it('every translated option has a non-empty name and description', () => {
    const incomplete = Object.entries(configuration)
      .filter(
        ([, entry]) => typeof entry?.name !== 'string' || entry.name.trim() === '' || typeof entry.description !== 'string' || entry.description.trim() === '',
      )
      .map(([name]) => name);
    expect(incomplete, 'translations without a name or description').toEqual([]);
  });

  it('config.yaml options only sets options that are in the schema', () => {
    const unknown = Object.keys(options).filter((name) => !(name in schema));
    expect(unknown, 'options without a schema entry').toEqual([]);
  });

  it('every required schema entry (no "?") has a value in options', () => {
    const missing = Object.keys(schema).filter((name) => !typeOf(name).endsWith('?') && !(name in options));
    expect(missing, 'required options without a value in config.yaml options').toEqual([]);
  });

  it('every option with a default in OPTIONS shows that default in config.yaml options', () => {
    const missing = OPTION_NAMES.filter((name) => OPTIONS[name].default !== undefined && !(name in options));
    expect(missing, 'options with a default in OPTIONS but none in config.yaml options').toEqual([]);
  });

  it('config.yaml options values are the defaults of OPTIONS', () => {
    for (const [name, value] of Object.entries(options)) {
      const spec = OPTIONS[name as keyof typeof OPTIONS];
      if (spec?.default === undefined) continue;
      expect(value, `options.${name} in config.yaml vs its default in OPTIONS`).toEqual(spec.default);
    }
    // And the loader reads the shipped options as exactly the defaults (blank strings count as unset).
    const parsed = parseOptions(options) as Record<string, unknown>;
    for (const name of OPTION_NAMES) {
      expect(parsed[name], `parseOptions(config.yaml options).${name}`).toEqual(OPTIONS[name].default);
    }
  });

  it('the schema type of each option fits the kind of its default', () => {
    for (const name of OPTION_NAMES) {
      const fallback = OPTIONS[name].default;
      if (fallback === undefined) continue;
      const type = typeOf(name).replace(/\?$/, '');
      const isList = Array.isArray(schema[name]);
      expect(Array.isArray(fallback), `${name}: a list in the schema iff its default is a list`).toBe(isList);
      if (isList) continue;
      const expected = type === 'bool' ? 'boolean' : type.startsWith('int') || type.startsWith('float') ? 'number' : 'string';
      expect(typeof fallback, `${name}: schema type ${type} vs default ${JSON.stringify(fallback)}`).toBe(expected);
    }
  });

  it('int(min,max) ranges in the schema are the ones the loader accepts', () => {
    const ranges = Object.keys(schema)
      .map((name) => ({ name, match: /^int\((-?\d*),(-?\d*)\)\??$/.exec(typeOf(name)) }))
      .filter((entry) => entry.match !== null);
    expect(ranges.length, 'expected some int(min,max) options').toBeGreaterThan(0);
    for (const { name, match } of ranges) {
      const [min, max] = [match![1], match![2]].map((bound) => (bound === '' ? undefined : Number(bound)));
      for (const bound of [min, max]) {
        if (bound === undefined) continue;
        expect(() => parseOptions({ [name]: bound }), `${name}: loader must accept ${bound}`).not.toThrow();
      }
      if (min !== undefined) expect(() => parseOptions({ [name]: min - 1 }), `${name}: loader must reject ${min - 1}`).toThrow(ConfigError);
      if (max !== undefined) expect(() => parseOptions({ [name]: max + 1 }), `${name}: loader must reject ${max + 1}`).toThrow(ConfigError);
    }
  });

  it('log_level list(...) is LOG_LEVELS', () => {
    const match = /^list\((.*)\)\??$/.exec(typeOf('log_level'));
    expect(match, `schema.log_level must be list(...), is ${typeOf('log_level')}`).not.toBeNull();
    expect(match![1]!.split('|'), 'schema.log_level values vs LOG_LEVELS').toEqual([...LOG_LEVELS]);
  });

  it("the options a first-time admin must set are in config.yaml's options, so HA's form shows them", () => {
    // Home Assistant's form (frontend supervisor-app-config.ts, _filteredSchema) shows a schema key
    // only if it is in the add-on's options or required; the rest hide behind "Show unused
    // optional configuration options". Optional ones the admin should see on a first visit too:
    // resource_server_secret (Music Assistant's token checks).
    const visible = [...Object.keys(FIRST_RUN_OPTIONS), 'resource_server_secret'];
    expect(
      visible.filter((name) => !(name in options)),
      'first-run options without an entry in config.yaml options',
    ).toEqual([]);
    for (const name of visible) expect(options[name], `options.${name} ships blank`).toBe('');
  });

  it('the Supervisor accepts each blank first-run option, so the add-on starts and prints what is missing', () => {
    // supervisor/apps/options.py AppOptions._single_validate: str and password are
    // vol.All(str, vol.Length(min, max)); url is vol.Url(), which refuses "". A length minimum
    // would refuse "" too.
    for (const name of [...Object.keys(FIRST_RUN_OPTIONS), 'resource_server_secret']) {
      expect(typeOf(name), `schema.${name} must accept "" (str or password without a minimum)`).toMatch(/^(str|password)(\(,\d*\))?\??$/);
    }
  });

  it('exactly the secrets are password fields', () => {
    const passwords = Object.keys(schema).filter((name) => /^password\??$/.test(typeOf(name)));
    expect(sorted(passwords), 'options of schema type password').toEqual(
      sorted(['encryption_key', 'previous_encryption_keys', 'alexa_client_secret', 'resource_server_secret']),
    );
  });
});

// --- translations/<language>.yaml -----------------------------------------------------------------

describe('every translations/<language>.yaml', () => {
  // The Supervisor reads each file as SCHEMA_APP_TRANSLATIONS (supervisor/apps/validate.py) under
  // its stem; the frontend picks addon.translations[hass.language] and falls back to en per entry.
  const files = readdirSync(new URL('translations/', root)).filter((name) => /\.ya?ml$/.test(name));

  it('includes en, and each file is named by a language code', () => {
    expect(files).toContain('en.yaml');
    for (const file of files) expect(file, 'translation file name').toMatch(/^[a-z]{2}(-[A-Z]{2})?\.yaml$/);
  });

  it.each(files)('%s names every option and port, each with a name and a description', (file) => {
    const data = readYaml(`translations/${file}`);
    expect(sorted(Object.keys(data)), `${file} top-level keys`).toEqual(['configuration', 'network']);
    const entries = data.configuration as Record<string, { name?: unknown; description?: unknown }>;
    expect(sorted(Object.keys(entries)), `${file} options vs OPTION_NAMES`).toEqual(sorted(OPTION_NAMES));
    for (const [name, entry] of Object.entries(entries)) {
      expect(typeof entry.name === 'string' && entry.name.trim() !== '', `${file} ${name}.name`).toBe(true);
      expect(typeof entry.description === 'string' && entry.description.trim() !== '', `${file} ${name}.description`).toBe(true);
    }
    const network = data.network as Record<string, unknown>;
    expect(sorted(Object.keys(network)), `${file} network keys`).toEqual(sorted(Object.keys(config.ports as Dict)));
    for (const text of Object.values(network)) expect(typeof text).toBe('string');
  });
});

// --- ports, Dockerfile and versions -----------------------------------------------------------

describe('ports, Dockerfile and versions agree', () => {
  const publicPortKey = `${DEFAULT_PUBLIC_PORT}/tcp`;

  it(`config.yaml publishes only the public port ${DEFAULT_PUBLIC_PORT}/tcp, with a description`, () => {
    expect(Object.keys(config.ports as Dict), 'config.yaml ports').toEqual([publicPortKey]);
    const description = (config.ports_description as Dict | undefined)?.[publicPortKey];
    expect(typeof description === 'string' && description.trim() !== '', `ports_description must describe ${publicPortKey}`).toBe(true);
  });

  it('translations/en.yaml describes exactly the published ports', () => {
    expect(sorted(Object.keys((translations.network ?? {}) as Dict)), 'translations network keys vs config.yaml ports').toEqual(
      sorted(Object.keys(config.ports as Dict)),
    );
  });

  it('the ingress port is the default that the loader uses', () => {
    // The Supervisor's default ingress_port is 8099; the linter forbids writing it out.
    expect(config.ingress_port ?? 8099, 'config.yaml ingress_port (8099 when absent) vs DEFAULT_INGRESS_PORT').toBe(DEFAULT_INGRESS_PORT);
  });

  it('the Dockerfile EXPOSEs the public and ingress ports', () => {
    const exposed = dockerfile
      .filter((i) => i.keyword === 'EXPOSE')
      .flatMap((i) => i.args.split(/\s+/))
      .map((port) => Number(port.replace(/\/tcp$/, '')));
    expect(sorted(exposed.map(String)), 'Dockerfile EXPOSE').toEqual(sorted([DEFAULT_PUBLIC_PORT, DEFAULT_INGRESS_PORT].map(String)));
  });

  it('the Dockerfile HEALTHCHECK runs the compiled healthcheck.js', () => {
    const healthchecks = dockerfile.filter((i) => i.keyword === 'HEALTHCHECK');
    expect(healthchecks, 'Dockerfile must have one HEALTHCHECK').toHaveLength(1);
    const cmd = /\bCMD\s+(.*)$/.exec(healthchecks[0]!.args)?.[1];
    expect(cmd, 'HEALTHCHECK must have a CMD').toBeDefined();
    const command = cmd!.startsWith('[') ? (JSON.parse(cmd!) as string[]).join(' ') : cmd!;
    expect(command).toBe('node /app/dist/healthcheck.js');
  });

  it('healthcheck.ts checks DEFAULT_PUBLIC_PORT, not a port of its own', () => {
    const source = readText('src/healthcheck.ts');
    expect(source, 'healthcheck.ts must import DEFAULT_PUBLIC_PORT from ./config/load.js').toMatch(
      /import\s*\{[^}]*\bDEFAULT_PUBLIC_PORT\b[^}]*\}\s*from\s*'\.\/config\/load\.js'/,
    );
    expect(source, 'healthcheck.ts must default its port to DEFAULT_PUBLIC_PORT').toMatch(/\bport\s*=[^;\n]*\bDEFAULT_PUBLIC_PORT\b/);
    expect(source, 'healthcheck.ts must not hard-code the port number').not.toMatch(new RegExp(`\\b${DEFAULT_PUBLIC_PORT}\\b`));
  });

  it('the Dockerfile builds on a pinned Home Assistant base image', () => {
    const froms = dockerfile.filter((i) => i.keyword === 'FROM');
    expect(froms.length, 'Dockerfile must have a FROM').toBeGreaterThan(0);
    for (const from of froms) {
      const image = substitute(from.args.split(/\s+/)[0]!, globalArgs);
      const match = /^ghcr\.io\/home-assistant\/base:(\S+)$/.exec(image);
      expect(match, `FROM ${from.args} resolves to "${image}", not ghcr.io/home-assistant/base:<tag>`).not.toBeNull();
      const tag = match![1]!;
      expect(tag, `base image tag "${tag}" must be a concrete version`).not.toBe('latest');
      expect(tag, `base image tag "${tag}" must be a concrete version`).toMatch(/\d/);
    }
  });

  it('the Dockerfile has the io.hass labels', () => {
    const labels = Object.assign({}, ...dockerfile.filter((i) => i.keyword === 'LABEL').map((i) => keyValues(i.args))) as Record<string, string>;
    for (const label of ['io.hass.name', 'io.hass.description', 'io.hass.type', 'io.hass.version', 'io.hass.arch']) {
      expect(labels[label]?.trim(), `Dockerfile LABEL ${label} is missing or empty`).toBeTruthy();
    }
    expect(substitute(labels['io.hass.version']!, finalStageArgs), 'io.hass.version label vs config.yaml version').toBe(config.version);
  });

  it('config.yaml version equals package.json version and the Dockerfile BUILD_VERSION default', () => {
    expect(config.version, 'config.yaml version vs package.json version').toBe(packageJson.version);
    expect(finalStageArgs.BUILD_VERSION, 'Dockerfile ARG BUILD_VERSION default vs config.yaml version').toBe(config.version);
  });
});

// --- AppArmor ---------------------------------------------------------------------------------

describe('apparmor.txt', () => {
  /** Rule lines without comments (`#include` lines are dropped too; no rule below needs them). */
  const rules = readText('apparmor.txt')
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line !== '');

  it('is the profile of the add-on slug', () => {
    const profiles = rules.map((line) => /^profile\s+(\S+)/.exec(line)?.[1]).filter((name) => name !== undefined);
    expect(profiles, 'apparmor.txt profile names vs config.yaml slug').toEqual([config.slug]);
  });

  it('grants neither sys_admin nor dac_override (nor every capability)', () => {
    const granted = rules.filter((line) => /^(audit\s+)?(allow\s+)?capability\b/.test(line));
    const bad = granted.filter((line) => /^(audit\s+)?(allow\s+)?capability\s*,/.test(line) || /\b(sys_admin|dac_override)\b/.test(line));
    expect(bad, 'apparmor.txt capability rules that must go').toEqual([]);
  });

  it('lets run.sh use busybox where Alpine keeps it (/bin or the /usr-merged /usr/bin)', () => {
    expect(rules).toContain('/{usr/,}bin/busybox ix,');
  });

  it('has no bare file rule (which would allow every file access)', () => {
    const bare = rules.filter((line) => /^(audit\s+)?(allow\s+)?file\s*,/.test(line));
    expect(bare, 'apparmor.txt bare file rules').toEqual([]);
  });
});

describe('store artwork', () => {
  /** Width and height from a PNG's IHDR chunk (bytes 16-23), after checking the signature. */
  function pngSize(path: string): { width: number; height: number } {
    const png = readFileSync(new URL(path, root));
    expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), `${path} is not a PNG`).toBe(true);
    return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
  }

  it('icon.png beside config.yaml is square and at least 128 px', () => {
    const { width, height } = pngSize('icon.png');
    expect(width).toBe(height);
    expect(width).toBeGreaterThanOrEqual(128);
  });

  it('logo.png beside config.yaml exists, landscape, at least 128 px high; both have their SVG source', () => {
    const { width, height } = pngSize('logo.png');
    expect(width).toBeGreaterThan(height);
    expect(height).toBeGreaterThanOrEqual(128);
    for (const source of ['art/icon.svg', 'art/logo.svg']) expect(readText(source)).toMatch(/<svg[\s>]/);
  });
});

/**
 * Administrators see the household (issue 21, point 2). Who is an administrator comes from Home
 * Assistant Core's websocket API through the Supervisor; neither can run here, so a stand-in
 * (helpers/fake-core-ws.ts) answers in their exact message shapes, behind the fake Supervisor.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreRoles, fetchCoreUsers } from '../src/ha/core-users.js';
import { attachFakeCore, type CoreUserInfo, coreUser, type FakeCore, SUPERVISOR_USER } from './helpers/fake-core-ws.js';
import { type FakeSupervisor, startFakeSupervisor } from './helpers/fake-supervisor.js';
import { csrfOf, ingress } from './helpers/ingress.js';
import { link, refresh } from './helpers/link.js';
import { memoryLogger } from './helpers/logger.js';
import { startTestServer, type TestServer } from './helpers/oauth-server.js';
import { linkFrom, UA } from './helpers/panel.js';

const NOTIFY = '/core/api/services/persistent_notification/create';

const ADMIN = { id: 'ad'.repeat(16), name: 'ada', displayName: 'Ada Admin' };
const OWNER = { id: '0e'.repeat(16), name: 'otto', displayName: 'Otto Owner' };
const MEMBER = { id: 'be'.repeat(16), name: 'bob', displayName: 'Bob Member' };
const OTHER = { id: 'ca'.repeat(16), name: 'cat', displayName: 'Cat Member' };
/** Was an administrator, but the account is deactivated: counts for nothing. */
const FORMER = { id: 'fa'.repeat(16), name: 'fay', displayName: 'Fay Former' };

function household(): CoreUserInfo[] {
  return [
    coreUser(ADMIN.id, 'Ada Admin', { groups: ['system-admin'] }),
    coreUser(OWNER.id, 'Otto Owner', { owner: true }),
    // Home Assistant's name now, which the panel prefers to the one the link was made with.
    coreUser(MEMBER.id, 'Bob (renamed in HA)'),
    coreUser(OTHER.id, 'Cat Member'),
    coreUser(FORMER.id, 'Fay Former', { groups: ['system-admin'], active: false }),
    SUPERVISOR_USER,
  ];
}

async function startFakes(): Promise<{ supervisor: FakeSupervisor; core: FakeCore; close: () => Promise<void> }> {
  const supervisor = await startFakeSupervisor();
  const core = attachFakeCore(supervisor, household());
  return {
    supervisor,
    core,
    close: async () => {
      core.close();
      await supervisor.close();
    },
  };
}

function startServer(supervisor: FakeSupervisor): Promise<TestServer> {
  return startTestServer({ home_assistant_url: 'https://ha.example.net' }, undefined, { SUPERVISOR_URL: supervisor.url, SUPERVISOR_TOKEN: supervisor.token });
}

type Person = typeof ADMIN;
/** The Household section alone (the page's footer names the reader). */
const householdPart = (page: string) => (page.split('data-household')[1] ?? '').split('</section>')[0]!;

describe('the user list from Core (src/ha/core-users.ts)', () => {
  let fakes: Awaited<ReturnType<typeof startFakes>>;
  beforeAll(async () => {
    fakes = await startFakes();
  });
  afterAll(() => fakes.close());
  const fetchUsers = (timeoutMs = 3000, maxBytes = 256 * 1024) =>
    fetchCoreUsers({ supervisorUrl: fakes.supervisor.url, token: fakes.supervisor.token, timeoutMs, maxBytes });

  it('authenticates with the Supervisor token in the auth message; owner or system-admin, and active, is an administrator', async () => {
    fakes.core.mode = 'ok';
    const list = await fetchUsers();
    expect(list.ok).toBe(true);
    const byId = new Map(list.ok ? list.users.map((user) => [user.id, user]) : []);
    expect(byId.get(ADMIN.id)).toEqual({ id: ADMIN.id, name: 'Ada Admin', isAdmin: true });
    expect(byId.get(OWNER.id)?.isAdmin).toBe(true);
    expect(byId.get(MEMBER.id)?.isAdmin).toBe(false);
    expect(byId.get(FORMER.id)?.isAdmin).toBe(false);
    expect(fakes.core.received.slice(-2)).toEqual([
      { type: 'auth', access_token: fakes.supervisor.token },
      { id: 1, type: 'config/auth/list' },
    ]);
  });

  it.each([
    ['authInvalid', /auth_invalid/],
    ['unauthorized', /config\/auth\/list failed \(unauthorized\)/],
    ['garbage', /unreadable message/],
    ['silent', /no answer within 300 ms/],
    ['refuse', /502/],
  ] as const)('Core answering %s is no user list, and nobody is an administrator', async (mode, reason) => {
    fakes.core.mode = mode;
    const list = await fetchUsers(300);
    expect(list).toEqual({ ok: false, reason: expect.stringMatching(reason) });
    const { logger, lines } = memoryLogger('debug');
    const roles = new CoreRoles(() => fetchUsers(300), logger);
    expect(await roles.isAdmin(ADMIN.id)).toBe(false);
    expect(await roles.names()).toEqual(new Map());
    expect(lines.join('\n')).toContain("Home Assistant's user list could not be read");
    expect(lines.join('\n')).not.toContain(fakes.supervisor.token);
  });

  it('nothing listening, and a list larger than the bound, are no user list either', async () => {
    fakes.core.mode = 'ok';
    expect((await fetchCoreUsers({ supervisorUrl: 'http://127.0.0.1:9', token: 't', timeoutMs: 1000, maxBytes: 1024 })).ok).toBe(false);
    expect(await fetchUsers(3000, 256)).toEqual({ ok: false, reason: expect.stringMatching(/max payload/i) });
  });

  it('asks once for callers at the same time and within the minute; a failure is asked again after seconds', async () => {
    fakes.core.mode = 'ok';
    let time = 1_000_000;
    const roles = new CoreRoles(
      () => fetchUsers(300),
      memoryLogger('debug').logger,
      () => time,
    );
    const before = fakes.core.connections;
    expect(await Promise.all([roles.isAdmin(ADMIN.id), roles.isAdmin(MEMBER.id), roles.names()])).toEqual([true, false, expect.any(Map)]);
    expect(await roles.isAdmin(OWNER.id)).toBe(true);
    expect(fakes.core.connections - before).toBe(1);
    time += 61_000;
    fakes.core.mode = 'unauthorized';
    expect(await roles.isAdmin(ADMIN.id)).toBe(false);
    expect(fakes.core.connections - before).toBe(2);
    fakes.core.mode = 'ok';
    time += 5_000;
    expect(await roles.isAdmin(ADMIN.id)).toBe(false);
    expect(fakes.core.connections - before).toBe(2);
    time += 6_000;
    expect(await roles.isAdmin(ADMIN.id)).toBe(true);
    expect(fakes.core.connections - before).toBe(3);
  });
});

describe('the household on the Linked accounts page', () => {
  let fakes: Awaited<ReturnType<typeof startFakes>>;
  let server: TestServer;
  beforeAll(async () => {
    fakes = await startFakes();
    server = await startServer(fakes.supervisor);
  });
  afterAll(async () => {
    await server.close();
    await fakes.close();
  });
  const get = (path: string, user: Person) => ingress(server.app.ingressUrl, path, { user });
  const post = (path: string, form: Record<string, string>, user: Person) => ingress(server.app.ingressUrl, path, { user, form });
  const notifications = () => fakes.supervisor.requests.filter((request) => request.path === NOTIFY);

  it('an administrator (group system-admin) sees a member’s link and revokes it; the member is told; Alexa’s next refresh fails', async () => {
    const linked = await link(server, MEMBER);
    const grantId = server.app.store.grants.listForSubject(MEMBER.id)[0]!.id;
    await expect.poll(() => notifications().length).toBe(1); // "Alexa linked"

    const page = await get('/links', ADMIN);
    expect(page.status).toBe(200);
    const part = householdPart(page.body);
    expect(part).toContain('<h2 id="household-heading">Household</h2>');
    expect(part).toContain('<span data-member>Bob (renamed in HA)</span> · Alexa (Europe)');
    expect(part).toContain('Access last renewed:');
    expect(part).toContain(`action="${'/api/hassio_ingress/'}`);
    expect(part).toContain(`name="grant" value="${grantId}"`);

    // Asks first, naming whose link it is.
    const asked = await post('/household/revoke', { grant: grantId, _csrf: csrfOf(page.body) }, ADMIN);
    expect(asked.status).toBe(200);
    expect(asked.body).toContain('Revoke the link of <strong>Bob (renamed in HA)</strong> with <strong>Alexa (Europe)</strong>?');
    expect(asked.body).toContain('/household/revoke"');
    expect(server.app.store.grants.get(grantId)?.revokedAt).toBeUndefined();
    // Without the CSRF token nothing happens.
    expect((await post('/household/revoke', { grant: grantId, confirm: '1' }, ADMIN)).status).toBe(403);
    expect(server.app.store.grants.get(grantId)?.revokedAt).toBeUndefined();

    const done = await post('/household/revoke', { grant: grantId, confirm: '1', _csrf: csrfOf(asked.body) }, ADMIN);
    expect(done.status).toBe(303);
    expect(done.headers.location).toMatch(/\/links\?revoked=member$/);
    expect(server.app.store.grants.get(grantId)?.revokedReason).toBe('admin');
    expect((await get('/links?revoked=member', ADMIN)).body).toContain('The link was revoked. Its owner is told by a Home Assistant notification.');

    await expect.poll(() => notifications().length).toBe(2);
    expect(notifications()[1]!.body).toMatchObject({
      notification_id: expect.stringMatching(/^alexa_link_admin_revoked_[0-9a-f]{16}$/),
      title: 'Alexa link revoked by an administrator',
      message: expect.stringContaining('For Bob \\(renamed in HA\\): an administrator (Ada Admin) revoked your Alexa link'),
    });
    expect(server.lines.some((line) => line.includes('Backup snapshot written after a revocation'))).toBe(true);

    const next = await refresh(server, linked.refreshToken);
    expect(next.status).toBe(400);
    expect(next.json?.error).toBe('invalid_grant');

    // The member's own view: the link ended "revoked by the administrator"; Activity says who.
    expect((await get('/links', MEMBER)).body).toContain('revoked by the administrator');
    expect((await get('/activity', MEMBER)).body).toContain('Ada Admin, an administrator, revoked Alexa (Europe)');
    // The audit row names the administrator.
    const revoked = server.app.store.audit.listForSubject(MEMBER.id, { limit: 5 }).find((entry) => entry.event === 'grant_revoked');
    expect(revoked?.details).toMatchObject({ by: 'admin', adminId: ADMIN.id, adminName: 'Ada Admin' });
  });

  it('the owner counts as an administrator; their own links are not in the household', async () => {
    await linkFrom(server, OTHER, UA.iPhoneSafari);
    await linkFrom(server, OWNER, UA.windowsEdge);
    const part = householdPart((await get('/links', OWNER)).body);
    expect(part).toContain('<span data-member>Cat Member</span>');
    expect(part).toContain('iPhone');
    expect(part).not.toContain('Otto Owner');
    expect(part).not.toContain('Windows');
  });

  it('a member sees only their own links and cannot revoke anybody else’s', async () => {
    await linkFrom(server, MEMBER, UA.androidChrome);
    const othersGrant = server.app.store.grants.listForSubject(OTHER.id).find((grant) => grant.revokedAt === undefined)!.id;
    const page = await get('/links', MEMBER);
    expect(page.status).toBe(200);
    expect(page.body).not.toContain('data-household');
    expect(page.body).not.toContain('Cat Member');
    expect(page.body).not.toContain(othersGrant);
    const token = csrfOf(page.body);
    for (const form of [{ grant: othersGrant }, { grant: othersGrant, confirm: '1' }] as Array<Record<string, string>>) {
      expect((await post('/household/revoke', { ...form, _csrf: token }, MEMBER)).status).toBe(404);
      const own = await post('/links/revoke', { ...form, _csrf: token }, MEMBER);
      expect(own.status).toBe(303);
      expect(own.headers.location).toMatch(/\/links\?revoked=0$/);
    }
    expect(server.app.store.grants.get(othersGrant)?.revokedAt).toBeUndefined();
    expect(notifications().filter((request) => /admin_revoked/.test(JSON.stringify(request.body)))).toHaveLength(1);
  });

  it('an administrator cannot revoke their own link as another’s (that is the own-link way, reason "user")', async () => {
    const ownGrant = server.app.store.grants.listForSubject(OWNER.id)[0]!.id;
    const token = csrfOf((await get('/links', OWNER)).body);
    const done = await post('/household/revoke', { grant: ownGrant, confirm: '1', _csrf: token }, OWNER);
    expect(done.headers.location).toMatch(/\/links\?revoked=0$/);
    expect(server.app.store.grants.get(ownGrant)?.revokedAt).toBeUndefined();
  });
});

describe('when Core cannot say', () => {
  // silent waits out the Supervisor timeout (3 s) once; the failure is then kept for seconds.
  it.each(['authInvalid', 'unauthorized', 'garbage', 'silent', 'refuse'] as const)(
    'Core answering %s: an administrator is treated as a member, and the page still works',
    async (mode) => {
      const fakes = await startFakes();
      fakes.core.mode = mode;
      const server = await startServer(fakes.supervisor);
      try {
        await linkFrom(server, MEMBER, UA.androidChrome);
        await linkFrom(server, ADMIN, UA.macFirefox);
        const memberGrant = server.app.store.grants.listForSubject(MEMBER.id)[0]!.id;
        const page = await ingress(server.app.ingressUrl, '/links', { user: ADMIN });
        expect(page.status).toBe(200);
        expect(page.body).toContain('Mac');
        expect(page.body).not.toContain('data-household');
        const denied = await ingress(server.app.ingressUrl, '/household/revoke', {
          user: ADMIN,
          form: { grant: memberGrant, confirm: '1', _csrf: csrfOf(page.body) },
        });
        expect(denied.status).toBe(404);
        expect(server.app.store.grants.get(memberGrant)?.revokedAt).toBeUndefined();
        expect(server.lines.join('\n')).not.toContain(fakes.supervisor.token);
      } finally {
        await server.close();
        await fakes.close();
      }
    },
  );

  it('two page views within the minute make one websocket fetch', async () => {
    const fakes = await startFakes();
    const server = await startServer(fakes.supervisor);
    try {
      expect(fakes.core.connections).toBe(0);
      for (let i = 0; i < 2; i++) expect(householdPart((await ingress(server.app.ingressUrl, '/links', { user: ADMIN })).body)).toContain('Household');
      expect(fakes.core.connections).toBe(1);
    } finally {
      await server.close();
      await fakes.close();
    }
  });
});

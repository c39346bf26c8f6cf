/**
 * POST /skill: the skill's front door. Every request is verified as Amazon requires (verify.ts);
 * then its access token is judged locally as /introspect judges it, plus the Alexa client and the
 * scope; unlinked people get a LinkAccount card; linked requests go to the skill backend unchanged,
 * with headers naming the Home Assistant user (forward.ts). Nothing unverified goes anywhere.
 */

import { readFileSync } from 'node:fs';
import express, { type RequestHandler, type Response } from 'express';
import type { Config } from '../config/load.js';
import { TUNABLES } from '../config/tunables.js';
import type { Sightings } from '../http/sightings.js';
import type { Logger } from '../log/logger.js';
import type { Store } from '../store/index.js';
import { chainDownload, SigningCerts, trustedRoots } from './cert-chain.js';
import { linkAccountResponse, unavailableResponse } from './envelope.js';
import { SkillBackend } from './forward.js';
import { refuse, type SkillGuard, skillGuardOff } from './off.js';
import { RefusalLog } from './refusals.js';
import { type RefusalKind, verifyAlexaRequest } from './verify.js';

export type { SkillGuard };

/** The scope a token must carry to act on Music Assistant through the skill. */
const SKILL_SCOPE = TUNABLES.oauth.scopes[0];

function answer(res: Response, body: Buffer | object): void {
  res.set('Cache-Control', 'no-store').status(200).type('application/json');
  if (Buffer.isBuffer(body)) res.send(body);
  else res.json(body);
}

/** `sightings`: where a verified request is noted for the Setup page (optional: tests of the guard alone). */
export function skillGuard(deps: { config: Config; store: Store; logger: Logger; sightings?: Sightings }): SkillGuard {
  const { config, store, logger } = deps;
  const settings = config.skill;
  if (!settings) return skillGuardOff(logger);

  const test = settings.testTrust;
  if (test) logger.warning('Skill guard in TEST MODE: chains come from SKILL_TEST_CERT_ORIGIN and/or only SKILL_TEST_TRUSTED_CA is trusted', { ...test });
  const roots = test?.caFile ? trustedRoots([readFileSync(test.caFile, 'utf8')]) : trustedRoots();
  const certs = new SigningCerts(chainDownload(test?.certOrigin), roots);
  const backend = new SkillBackend(settings.backendUrl);
  const refusals = new RefusalLog(logger);
  const flushTimer = setInterval(() => {
    try {
      store.skillUsage.flush();
    } catch (error) {
      logger.error('Writing skill usage failed; it is tried again', { error });
    }
  }, TUNABLES.skill.usageFlushSeconds * 1000);
  flushTimer.unref();

  const refused = (res: Response, kind: RefusalKind, problem: string, status = 400): void => {
    refusals.note(kind);
    logger.debug('Skill request refused', { kind, problem });
    refuse(res, status, `the request was not verified: ${problem}`);
  };

  const body = express.raw({ type: () => true, limit: TUNABLES.skill.maxRequestBytes });
  const readBody: RequestHandler = (req, res, next) =>
    body(req, res, (error?: unknown) => {
      if (!error) return next();
      const status = (error as { status?: number }).status;
      if (status === 413) refused(res, 'body_too_large', 'the body is too large', 413);
      else refused(res, 'bad_envelope', 'the body could not be read');
    });

  const guard: RequestHandler = async (req, res) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const verification = await verifyAlexaRequest({ body: raw, headers: req.headers }, { skillId: settings.skillId, certs, now: Date.now() });
    if (!verification.verified) {
      refused(res, verification.kind, verification.problem);
      return;
    }
    const { envelope } = verification;
    deps.sightings?.note('alexaSkill');
    // The same lifetime rules as /introspect: Config carries the option as the store takes it.
    const info = envelope.accessToken === undefined ? undefined : store.tokens.introspect(envelope.accessToken, config.policy.lifetimes);
    const grant = info?.grant;
    if (!grant || grant.clientId !== config.alexa.clientId || !grant.scope.split(' ').includes(SKILL_SCOPE)) {
      refusals.note('not_linked');
      answer(res, linkAccountResponse(envelope));
      return;
    }
    store.skillUsage.note(grant.id, grant.subject.id);
    const forwarded = await backend.forward(raw, req.headers, {
      userId: grant.subject.id,
      userName: grant.subject.displayName ?? grant.subject.name,
      linkId: grant.id,
    });
    if (!forwarded.ok) {
      refusals.note('backend_failed');
      logger.debug('The skill backend failed', { problem: forwarded.problem });
      answer(res, unavailableResponse(envelope));
      return;
    }
    answer(res, forwarded.body);
  };

  return {
    handler: [readBody, guard],
    close: () => {
      clearInterval(flushTimer);
      refusals.close();
      backend.close();
    },
  };
}

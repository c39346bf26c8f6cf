/**
 * What the Setup page says about traffic: when Alexa and Music Assistant last called, and through
 * which peer requests arrive. In memory only (a few fixed fields, no write per request); a restart
 * starts again from "never".
 */

/** The calls the Setup page reports: Alexa at /token, Alexa at /skill (verified), Music Assistant at /introspect. */
export type Sighting = 'alexaToken' | 'alexaSkill' | 'introspect';

/** A peer address and when it was last seen. */
export interface PeerSeen {
  peer: string;
  at: number;
}

export interface PeerFacts {
  /** Last request without X-Forwarded-For. */
  direct: PeerSeen | undefined;
  /** Last request with X-Forwarded-For from a peer in trusted_proxies. */
  trustedProxy: PeerSeen | undefined;
  /** Last request with X-Forwarded-For from a peer not in trusted_proxies. */
  untrustedProxy: PeerSeen | undefined;
}

/** Peer addresses are cut to this length: a socket address, never the sender's words. */
const MAX_PEER = 64;

export class Sightings {
  private readonly last: Record<Sighting, number | undefined> = { alexaToken: undefined, alexaSkill: undefined, introspect: undefined };
  private readonly facts: PeerFacts = { direct: undefined, trustedProxy: undefined, untrustedProxy: undefined };

  constructor(private readonly now: () => number = Date.now) {}

  note(kind: Sighting): void {
    this.last[kind] = this.now();
  }

  lastAt(kind: Sighting): number | undefined {
    return this.last[kind];
  }

  /** One request's immediate peer, whether it sent X-Forwarded-For, and whether that peer is trusted. */
  notePeer(peer: string, forwarded: boolean, trusted: boolean): void {
    const seen = { peer: peer.slice(0, MAX_PEER), at: this.now() };
    if (!forwarded) this.facts.direct = seen;
    else if (trusted) this.facts.trustedProxy = seen;
    else this.facts.untrustedProxy = seen;
  }

  peers(): PeerFacts {
    return { ...this.facts };
  }
}

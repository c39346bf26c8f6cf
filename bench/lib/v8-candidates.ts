/**
 * The V8 settings the bench tries on Alexa Link (docs/benchmarks.md, "V8 settings"): each one a
 * fresh server, its idle RSS, then refresh and introspection at 16 connections, then its RSS after
 * that load, against a fresh bare Express app started without flags. The first is what the server
 * runs with (SERVER_NODE_FLAGS: run.sh, `npm start`, the tests); the others are derived from it,
 * so they follow when it changes. Add, drop or reorder candidates here only.
 */
import { SERVER_NODE_FLAGS } from '../../test/helpers/server-process.js';

export interface V8Candidate {
  /** How the report names it. */
  name: string;
  flags: string[];
}

const SEMI_SPACE = '--max-semi-space-size=';
const OPTIMIZE_FOR_SIZE = '--optimize-for-size';

/** The production flags with `--max-semi-space-size` set to `mib` (added if absent). */
function withSemiSpace(mib: number): string[] {
  const others = SERVER_NODE_FLAGS.filter((flag) => !flag.startsWith(SEMI_SPACE));
  return [...others, `${SEMI_SPACE}${mib}`];
}

const currentSemiSpace = Number(SERVER_NODE_FLAGS.find((flag) => flag.startsWith(SEMI_SPACE))?.slice(SEMI_SPACE.length));
const optimizesForSize = SERVER_NODE_FLAGS.includes(OPTIMIZE_FOR_SIZE);

export const V8_CANDIDATES: V8Candidate[] = [
  { name: 'production', flags: [...SERVER_NODE_FLAGS] },
  // V8's memory-saving mode, in the production flags until 2026-12-05: the other side of the choice.
  optimizesForSize
    ? { name: `production without \`${OPTIMIZE_FOR_SIZE}\``, flags: SERVER_NODE_FLAGS.filter((flag) => flag !== OPTIMIZE_FOR_SIZE) }
    : { name: `production with \`${OPTIMIZE_FOR_SIZE}\``, flags: [OPTIMIZE_FOR_SIZE, ...SERVER_NODE_FLAGS] },
  { name: 'no flags', flags: [] },
  ...[1, 2, 8, 16].filter((mib) => mib !== currentSemiSpace).map((mib) => ({ name: `production with \`${SEMI_SPACE}${mib}\``, flags: withSemiSpace(mib) })),
  { name: `\`${OPTIMIZE_FOR_SIZE}\` alone`, flags: [OPTIMIZE_FOR_SIZE] },
];

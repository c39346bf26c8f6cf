/** A small Dockerfile reader for the packaging tests: instructions, LABEL/ENV pairs, ARG defaults. */

export interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions of a Dockerfile: comments dropped, `\` continuations joined. */
export function dockerInstructions(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line)) continue; // comments, also inside a continued instruction
    if (current === '' && line.trim() === '') continue;
    const continued = /\\\s*$/.test(line);
    current += `${continued ? line.replace(/\\\s*$/, '') : line} `;
    if (!continued) {
      const match = /^\s*(\S+)\s*(.*?)\s*$/.exec(current);
      if (match) instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]! });
      current = '';
    }
  }
  return instructions;
}

/** `KEY=value KEY="quoted value"` pairs (LABEL, ENV). */
export function keyValues(args: string): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const match of args.matchAll(/([\w.-]+)=("(?:[^"\\]|\\.)*"|\S+)/g)) {
    const raw = match[2]!;
    pairs[match[1]!] = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
  }
  return pairs;
}

/** ARG defaults of a range of instructions (the global ones come before the first FROM). */
export function argDefaults(instructions: Instruction[]): Record<string, string | undefined> {
  const args: Record<string, string | undefined> = {};
  for (const { keyword, args: text } of instructions) {
    if (keyword !== 'ARG') continue;
    const [name, ...value] = text.split('=');
    args[name!.trim()] =
      value.length > 0
        ? value
            .join('=')
            .trim()
            .replace(/^"(.*)"$/, '$1')
        : undefined;
  }
  return args;
}

/** Replaces `${NAME}` / `$NAME` with the ARG default (empty if it has none). */
export const substitute = (text: string, args: Record<string, string | undefined>): string =>
  text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, braced: string | undefined, bare: string | undefined) => args[(braced ?? bare)!] ?? '');

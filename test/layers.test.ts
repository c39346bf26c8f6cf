/**
 * The folders of src/ form layers: no import circle between them (type-only imports included),
 * so each folder can be read, and changed, knowing only what is below it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = new URL('../src/', import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** A file's unit: its folder under src/, or the file itself for files at the top of src/. */
function unitOf(file: string): string {
  const [first, ...rest] = relative(SRC, file).split('/');
  return rest.length > 0 ? `${first!}/` : first!;
}

/** Unit → units it imports (relative imports and re-exports, `import type` included). */
function importGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sourceFiles(SRC)) {
    const from = unitOf(file);
    const edges = graph.get(from) ?? new Set<string>();
    graph.set(from, edges);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/^\s*(?:import|export)\b[^'";]*?from\s+'(\.{1,2}\/[^']+)'/gm)) {
      const target = unitOf(resolve(dirname(file), match[1]!.replace(/\.js$/, '.ts')));
      if (target !== from) edges.add(target);
    }
  }
  return graph;
}

/** Strongly connected components with more than one unit: the import circles (Tarjan). */
function circles(graph: Map<string, Set<string>>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

describe('folders of src/ form layers', () => {
  it('no import circle between the folders (and top-level files) of src/', () => {
    expect(circles(importGraph())).toEqual([]);
  });

  it('the check finds a circle when there is one', () => {
    const graph = new Map([
      ['a/', new Set(['b/'])],
      ['b/', new Set(['c/'])],
      ['c/', new Set(['a/'])],
      ['d/', new Set(['a/'])],
    ]);
    expect(circles(graph)).toEqual([['a/', 'b/', 'c/']]);
  });

  it('the shared web pieces (http/) sit below oauth/, panel/, skill/ and server/', () => {
    const graph = importGraph();
    for (const upper of ['oauth/', 'panel/', 'skill/', 'server/']) expect(graph.get('http/')?.has(upper), `http/ imports ${upper}`).toBe(false);
    // The endpoints never import each other.
    for (const [a, b] of [
      ['oauth/', 'panel/'],
      ['oauth/', 'skill/'],
      ['panel/', 'skill/'],
    ] as const) {
      expect(graph.get(a)?.has(b), `${a} imports ${b}`).toBe(false);
      expect(graph.get(b)?.has(a), `${b} imports ${a}`).toBe(false);
    }
    expect(graph.get('skill/')?.has('server/')).toBe(false);
    expect(graph.get('oauth/')?.has('server/')).toBe(false);
    expect(graph.get('panel/')?.has('server/')).toBe(false);
  });
});

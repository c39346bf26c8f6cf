/**
 * Every option is used: an option in OPTIONS that load.ts never reads, or a Config field that no
 * code outside the loader reads, compiles and passes every other test. The TypeScript language
 * service over src/ finds each one's references, as an editor's "Find all references" would.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { OPTION_NAMES } from '../src/config/options.js';

const root = new URL('../', import.meta.url).pathname;
const LOAD = join(root, 'src/config/load.ts');
const OPTIONS_FILE = join(root, 'src/config/options.ts');
/** The loader and the policy it builds: where options are read. */
const READERS = [LOAD, join(root, 'src/config/policy.ts')];

function languageService(): ts.LanguageService {
  const parsed = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  if (!parsed) throw new Error('tsconfig.json could not be read');
  const host: ts.LanguageServiceHost = {
    getScriptFileNames: () => parsed.fileNames,
    getScriptVersion: () => '1',
    getScriptSnapshot: (file) => (ts.sys.fileExists(file) ? ts.ScriptSnapshot.fromString(readFileSync(file, 'utf8')) : undefined),
    getCurrentDirectory: () => root,
    getCompilationSettings: () => parsed.options,
    getDefaultLibFileName: (options) => ts.getDefaultLibFilePath(options),
    fileExists: ts.sys.fileExists,
    readFile: ts.sys.readFile,
  };
  return ts.createLanguageService(host);
}

const service = languageService();
const program = service.getProgram()!;

/** Property declarations of an interface or object literal, by name, with their positions. */
function members(file: string, find: (node: ts.Node) => ts.NodeArray<ts.Node> | undefined): Map<string, number> {
  const source = program.getSourceFile(file)!;
  const found = new Map<string, number>();
  const visit = (node: ts.Node): void => {
    const list = find(node);
    if (list) {
      for (const member of list) {
        if ((ts.isPropertySignature(member) || ts.isPropertyAssignment(member)) && ts.isIdentifier(member.name))
          found.set(member.name.text, member.name.getStart(source));
      }
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Files, other than `except`, where the symbol at `position` of `file` is referenced. */
function usedOutside(file: string, position: number, except: string): string[] {
  const references = service.findReferences(file, position) ?? [];
  return [...new Set(references.flatMap((symbol) => symbol.references.map((reference) => reference.fileName)).filter((name) => name !== except))];
}

/** Positions in `declaredIn` of the declarations of every property `file` reads (accesses and destructuring). */
function declarationsReadIn(file: string, declaredIn: string): Set<number> {
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file)!;
  const positions = new Set<number>();
  const note = (node: ts.Node): void => {
    for (const declaration of checker.getSymbolAtLocation(node)?.declarations ?? []) {
      const name = ts.getNameOfDeclaration(declaration);
      if (declaration.getSourceFile().fileName === declaredIn && name) positions.add(name.getStart(declaration.getSourceFile()));
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAccessExpression(node)) note(node.name);
    else if (ts.isElementAccessExpression(node)) note(node.argumentExpression);
    else if (ts.isBindingElement(node)) note(node.propertyName ?? node.name);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return positions;
}

describe('every option is used', () => {
  it('every option of OPTIONS is read by the loader (or the policy it builds)', () => {
    const options = members(OPTIONS_FILE, (node) =>
      ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.name.text === 'OPTIONS' && node.initializer
        ? ((ts.isAsExpression(node.initializer) ? node.initializer.expression : node.initializer) as ts.ObjectLiteralExpression).properties
        : undefined,
    );
    expect([...options.keys()].sort()).toEqual([...OPTION_NAMES].sort());
    // Options is a mapped type over OPTIONS: a read of `options.x` resolves to a symbol declared by OPTIONS' `x`.
    const read = new Set(READERS.flatMap((file) => [...declarationsReadIn(file, OPTIONS_FILE)]));
    const unread = [...options].filter(([, position]) => !read.has(position)).map(([name]) => name);
    expect(unread).toEqual([]);
  });

  it('every field of Config is read somewhere outside the loader', () => {
    const fields = members(LOAD, (node) =>
      ts.isInterfaceDeclaration(node) && (node.name.text === 'Config' || node.name.text === 'SkillGuardConfig') ? node.members : undefined,
    );
    expect(fields.size).toBeGreaterThan(20);
    const unused = [...fields].filter(([, position]) => usedOutside(LOAD, position, LOAD).length === 0).map(([name]) => name);
    expect(unused).toEqual([]);
  });
});

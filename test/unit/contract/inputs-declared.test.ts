import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';
import { REPO_ROOT } from '../../../lab/lab.js';
import { readActionMetadata } from '../../../lab/runner/action-host.js';
import { Inputs } from '../../../src/core/inputs.js';

/*
 * Every input an action's code reads is declared in its action.yml, and every declared input is
 * read. Static analysis of the sources rather than recording what a run asks for: a recording
 * sees only the branches a scenario drives (swarm-deploy reads `lock-message` only for a hold,
 * the stack file only for a deploy), while the sources show every read. The analysis follows the
 * import graph from each bundle's entry, finds every call of an `Inputs` reading method on
 * `inputs`, and resolves its name argument: a string literal, a `for…of` over a list of literals,
 * or a helper's parameter that every call in the file fills with a literal. Anything else fails
 * the test, so a read cannot hide from it.
 */

/** Inputs' reading methods, from the class itself (a new method is covered without editing this). */
const READERS = new Set(
  Object.getOwnPropertyNames(Inputs.prototype).filter((name) => name !== 'constructor' && name !== 'raw'),
);

/** dist/<bundle>/index.js → its entry in src, from the build script's ENTRIES table. */
function bundleEntries(): Map<string, string> {
  const text = readFileSync(join(REPO_ROOT, 'scripts/build.mjs'), 'utf8');
  const table = /ENTRIES\s*=\s*\{([\s\S]*?)\}/.exec(text)?.[1] ?? '';
  return new Map([...table.matchAll(/'?([a-z-]+)'?:\s*'([^']+)'/g)].map((m) => [m[1] as string, m[2] as string]));
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
}

/** The project's own sources reachable from an entry (relative imports only). */
function reachable(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const statement of parse(file).statements) {
      if (!ts.isImportDeclaration(statement) && !ts.isExportDeclaration(statement)) continue;
      const specifier = statement.moduleSpecifier;
      if (!specifier || !ts.isStringLiteral(specifier) || !specifier.text.startsWith('.')) continue;
      const target = resolve(dirname(file), specifier.text.replace(/\.js$/, '.ts'));
      if (existsSync(target)) visit(target);
    }
  };
  visit(resolve(REPO_ROOT, entry));
  return [...seen];
}

interface Reads {
  names: Set<string>;
  unresolved: string[];
}

function literal(node: ts.Node | undefined): string | undefined {
  return node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : undefined;
}

/** The array literal a top-level `const NAME = [...]` (optionally `as const`) of the file holds. */
function constantList(name: string, source: ts.SourceFile): ts.Expression | undefined {
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement) || !(statement.declarationList.flags & ts.NodeFlags.Const)) continue;
    for (const declaration of statement.declarationList.declarations) {
      if (!ts.isIdentifier(declaration.name) || declaration.name.text !== name || !declaration.initializer) continue;
      const value = declaration.initializer;
      return ts.isAsExpression(value) ? value.expression : value;
    }
  }
  return undefined;
}

/** The input names an identifier can hold where it is used as a name argument. */
function resolveIdentifier(identifier: ts.Identifier, source: ts.SourceFile): string[] | undefined {
  for (let node: ts.Node | undefined = identifier.parent; node; node = node.parent) {
    if (ts.isForOfStatement(node) && ts.isVariableDeclarationList(node.initializer)) {
      const declared = node.initializer.declarations[0]?.name;
      if (declared && ts.isIdentifier(declared) && declared.text === identifier.text) {
        const list = ts.isIdentifier(node.expression) ? constantList(node.expression.text, source) : node.expression;
        if (list === undefined || !ts.isArrayLiteralExpression(list)) return undefined;
        const names = list.elements.map((e) => literal(e));
        return names.every((n) => n !== undefined) ? (names as string[]) : undefined;
      }
    }
    if (ts.isFunctionDeclaration(node) && node.name) {
      const index = node.parameters.findIndex((p) => ts.isIdentifier(p.name) && p.name.text === identifier.text);
      if (index < 0) continue;
      const fn = node.name.text;
      const names: (string | undefined)[] = [];
      const collect = (n: ts.Node) => {
        if (ts.isCallExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === fn) {
          names.push(literal(n.arguments[index]));
        }
        ts.forEachChild(n, collect);
      };
      collect(source);
      return names.length > 0 && names.every((n) => n !== undefined) ? (names as string[]) : undefined;
    }
  }
  return undefined;
}

/** Adds the input names one source file reads; a name it cannot tell is listed as unresolved. */
function collectReads(source: ts.SourceFile, reads: Reads): void {
  const visit = (node: ts.Node) => {
    if (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      ts.isIdentifier(node.expression.expression) &&
      node.expression.expression.text === 'inputs' &&
      READERS.has(node.expression.name.text)
    ) {
      const argument = node.arguments[0];
      const names =
        literal(argument) !== undefined
          ? [literal(argument) as string]
          : argument && ts.isIdentifier(argument)
            ? resolveIdentifier(argument, source)
            : undefined;
      if (names === undefined) {
        const { line } = source.getLineAndCharacterOfPosition(node.getStart());
        reads.unresolved.push(`${relative(REPO_ROOT, source.fileName)}:${line + 1}: ${node.getText().slice(0, 60)}`);
      } else {
        for (const name of names) reads.names.add(name);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}

function inputReads(files: string[]): Reads {
  const reads: Reads = { names: new Set(), unresolved: [] };
  for (const file of files) collectReads(parse(file), reads);
  return reads;
}

const ACTIONS = [
  '.',
  'actions/build-and-tag',
  'actions/ecr-push',
  'actions/swarm-deploy',
  'actions/verify-health',
  'actions/notify-discord',
];

describe.each(ACTIONS.map((a) => [a]))('%s/action.yml and the code it runs', (action) => {
  const metadata = readActionMetadata(action);
  const entries = bundleEntries();
  const bundles = [metadata.runs.main, metadata.runs.post].filter((p): p is string => p !== undefined);
  const files = [
    ...new Set(
      bundles.flatMap((bundle) => {
        const name = /dist\/([a-z-]+)\/index\.js$/.exec(bundle)?.[1] ?? '';
        const entry = entries.get(name);
        if (entry === undefined) throw new Error(`${bundle} is not built by scripts/build.mjs`);
        return reachable(entry);
      }),
    ),
  ];
  const reads = inputReads(files);
  const declared = new Set(Object.keys(metadata.inputs));

  test('every input name in the code can be told statically', () => {
    expect(reads.unresolved).toEqual([]);
  });

  test('every input the code reads is declared', () => {
    expect([...reads.names].filter((name) => !declared.has(name)).sort()).toEqual([]);
  });

  test('every declared input is read', () => {
    expect([...declared].filter((name) => !reads.names.has(name)).sort()).toEqual([]);
  });
});

describe('the analysis itself', () => {
  test('reads through literals, for…of lists (inline or a const of the file) and helper parameters; reports what it cannot tell', () => {
    const file = join(REPO_ROOT, 'test/fixtures/actions/input-reads.ts');
    const source = ts.createSourceFile(
      file,
      [
        "inputs.required('a');",
        "for (const name of ['b', 'c']) inputs.optional(name);",
        'function helper(inputs: unknown, input: string) { return inputs.boolean(input, false); }',
        "helper(inputs, 'd');",
        'const dynamic = `e`; inputs.string(dynamic, "");',
        "const LISTED = ['f', 'g'] as const;",
        'for (const name of LISTED) inputs.given(name);',
      ].join('\n'),
      ts.ScriptTarget.ES2022,
      true,
    );
    const reads: Reads = { names: new Set(), unresolved: [] };
    collectReads(source, reads);
    expect([...reads.names].sort()).toEqual(['a', 'b', 'c', 'd', 'f', 'g']);
    expect(reads.unresolved).toEqual(['test/fixtures/actions/input-reads.ts:5: inputs.string(dynamic, "")']);
  });
});

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';
import { REPO_ROOT } from '../../../lab/lab.js';
import { readActionMetadata } from '../../../lab/runner/action-host.js';
import { connectionInputs } from '../../../src/cli/connection.js';
import {
  deployCommand,
  deployInputValues,
  DEPLOY_FLAGS,
  RESTORE_FLAGS,
  rollbackCommand,
} from '../../../src/cli/deploy.js';
import { cliField } from '../../../src/cli/operator.js';
import { scaleCommand, SCALE_FLAGS } from '../../../src/cli/scale.js';
import { actionField } from '../../../src/core/run.js';

/*
 * Every field a ConfigurationError of the request builders and planners can carry is spelled by
 * each boundary as something that exists there: the swarm-deploy action as an input its
 * action.yml declares, the CLI as a flag (or argument, or environment variable) its rollout
 * commands accept. The fields are read from the sources, so a new error cannot hide from it: the
 * field argument of every `new ConfigurationError(…)`, every `inputs.<read>('<name>')`, and every
 * string handed to a parameter named `field` or `input` (or given as its default).
 */

const ROOTS = ['src/rollout/settings.ts', 'src/rollout/request.ts', 'src/rollout/scale.ts', 'src/compose/stack.ts'];

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
}

/** The project's sources reachable from the roots through value imports (a type import raises nothing). */
function reachable(): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const statement of parse(file).statements) {
      if (!ts.isImportDeclaration(statement) || statement.importClause?.isTypeOnly) continue;
      const specifier = statement.moduleSpecifier;
      if (!ts.isStringLiteral(specifier) || !specifier.text.startsWith('.')) continue;
      const target = resolve(dirname(file), specifier.text.replace(/\.js$/, '.ts'));
      if (existsSync(target)) visit(target);
    }
  };
  for (const root of ROOTS) visit(resolve(REPO_ROOT, root));
  return [...seen];
}

const literal = (node: ts.Node | undefined) =>
  node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : undefined;
const isFieldParameter = (p: ts.ParameterDeclaration) =>
  ts.isIdentifier(p.name) && (p.name.text === 'field' || p.name.text === 'input');

/** Field keys by the file that names them. */
function fieldsBySource(): Map<string, Set<string>> {
  const files = reachable();
  // Functions with a field parameter, by name → its position (from every reachable file).
  const takesField = new Map<string, number>();
  const sources = files.map((file) => [file, parse(file)] as const);
  const found = new Map<string, Set<string>>();
  const add = (file: string, field: string | undefined) => {
    if (field === undefined) return;
    const key = relative(REPO_ROOT, file);
    found.set(key, (found.get(key) ?? new Set()).add(field));
  };
  for (const [file, source] of sources) {
    const visit = (node: ts.Node): void => {
      if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) && node.name && ts.isIdentifier(node.name)) {
        const index = node.parameters.findIndex(isFieldParameter);
        if (index >= 0) {
          takesField.set(node.name.text, index);
          add(file, literal(node.parameters[index]?.initializer));
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  for (const [file, source] of sources) {
    const visit = (node: ts.Node): void => {
      if (ts.isNewExpression(node) && node.expression.getText() === 'ConfigurationError')
        add(file, literal(node.arguments?.[1]));
      if (ts.isCallExpression(node)) {
        const callee = node.expression;
        const name = ts.isPropertyAccessExpression(callee) ? callee.name.text : callee.getText();
        if (ts.isPropertyAccessExpression(callee) && callee.expression.getText() === 'inputs')
          add(file, literal(node.arguments[0]));
        const index = takesField.get(name);
        if (index !== undefined) add(file, literal(node.arguments[index]));
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

const bySource = fieldsBySource();
const all = new Set([...bySource.values()].flatMap((set) => [...set]));
/** Only the CLI's scale builds a scale request: what its planner alone names never reaches the action. */
const scaleOnly = new Set(
  [...(bySource.get('src/rollout/scale.ts') ?? [])].filter((field) =>
    [...bySource].every(([file, fields]) => file === 'src/rollout/scale.ts' || !fields.has(field)),
  ),
);

describe('the fields of request errors', () => {
  test('are found in the sources (the analysis sees the builders and planners)', () => {
    for (const field of ['client', 'rollback-to', 'service-port', 'routed-service', 'stack-file', 'port', 'scale'])
      expect(all, field).toContain(field);
  });

  const declared = new Set(Object.keys(readActionMetadata(join(REPO_ROOT, 'actions/swarm-deploy')).inputs));
  test.each([...all].filter((field) => !scaleOnly.has(field)).sort())(
    'the action spells %s as an input of actions/swarm-deploy/action.yml',
    (field) => {
      const input = /^Input "([^"]+)"$/.exec(actionField(field))?.[1];
      expect(declared).toContain(input);
    },
  );

  const commands = [
    ['deploy', deployCommand(), DEPLOY_FLAGS],
    ['rollback', rollbackCommand(), RESTORE_FLAGS],
    ['scale', scaleCommand(), SCALE_FLAGS],
  ] as const;
  // What the rollout commands give a value to; the other fields keep their valid defaults in the CLI.
  const given = new Set([
    ...Object.keys(deployInputValues({}, REPO_ROOT, false)),
    ...Object.keys(connectionInputs({}, {}, REPO_ROOT)),
    ...['secrets', 'registry-password', 'rollback-to', 'scale'],
  ]);
  test('the CLI gives a value to every field but those it leaves at their defaults', () => {
    expect([...all].filter((field) => !given.has(field)).sort()).toEqual([
      'default-cpus',
      'default-memory',
      'lock',
      'lock-expiry',
      'lock-message',
    ]);
  });
  test.each([...all].filter((field) => given.has(field)).sort())(
    'the CLI spells %s as what a rollout command accepts',
    (field) => {
      const accepted = commands.filter(([, command, names]) => {
        const spelled = cliField(field, names);
        // `--port (or SWARM_DEPLOY_PORT)`: every name it gives is in the command's usage.
        const words = spelled
          .replace(/[()]/g, ' ')
          .split(/\s+|\bor\b/)
          .filter((w) => w && w !== 'or');
        return words.every((word) =>
          new RegExp(`(^|[\\s\\[])${word.replace(/[[\]<>=|.*+?^${}\\]/g, '\\$&')}(?=[\\s\\],).]|$)`, 'm').test(
            command.usage,
          ),
        );
      });
      expect(
        accepted.map(([name]) => name),
        cliField(field),
      ).not.toEqual([]);
    },
  );

  test('service-port is the routed port and port the SSH port, at both boundaries', () => {
    expect(actionField('service-port')).toBe('Input "service-port"');
    expect(cliField('service-port', DEPLOY_FLAGS)).toBe('--service-port');
    expect(cliField('port', DEPLOY_FLAGS)).toBe('--port (or SWARM_DEPLOY_PORT)');
  });
});

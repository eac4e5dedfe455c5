/**
 * `${{ }}` evaluation with GitHub's own evaluator (@actions/expressions), over the template
 * tokens GitHub's own parser (@actions/workflow-parser) produced: a string holding expressions
 * arrives as one `format()` expression, exactly as the service evaluates it.
 */
import { data, Evaluator, Lexer, Parser } from '@actions/expressions';
import type { FunctionDefinition } from '@actions/expressions/funcs/info';
import { truthy } from '@actions/expressions/result';
import { isBasicExpression, isBoolean, isMapping, isNumber, isSequence, isString } from '@actions/workflow-parser';
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token';
import { WorkflowError, where } from './errors.js';

/** The job-status functions, answered by the runner for the job or step being decided. */
export interface StatusFunctions {
  success(): boolean;
  failure(): boolean;
  cancelled(): boolean;
}

export interface Scope {
  /** Contexts by name (`github`, `inputs`, `steps`, …) as plain JSON values. */
  contexts: Record<string, unknown>;
  status?: StatusFunctions;
  /** The file the tokens come from, for errors. */
  file: string;
}

/** Plain JSON → the evaluator's data types. */
export function toData(value: unknown): data.ExpressionData {
  return JSON.parse(JSON.stringify(value ?? null), data.reviver) as data.ExpressionData;
}

/** The evaluator's data types → plain JSON. */
export function fromData(value: data.ExpressionData): unknown {
  return JSON.parse(JSON.stringify(value, data.replacer)) as unknown;
}

function statusFunctions(status: StatusFunctions | undefined): Map<string, FunctionDefinition> {
  const fn = (name: string, call: () => boolean): [string, FunctionDefinition] => [
    name,
    { name, minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(call()) },
  ];
  const s = status ?? { success: () => true, failure: () => false, cancelled: () => false };
  return new Map([
    fn('success', () => s.success()),
    fn('failure', () => s.failure()),
    fn('cancelled', () => s.cancelled()),
    fn('always', () => true),
  ]);
}

/** Evaluate one expression (without `${{ }}`); `token` locates errors. */
export function evaluateExpression(expression: string, scope: Scope, token?: TemplateToken): data.ExpressionData {
  const functions = statusFunctions(scope.status);
  try {
    const tokens = new Lexer(expression).lex().tokens;
    const tree = new Parser(tokens, Object.keys(scope.contexts), [...functions.values()]).parse();
    const context = new data.Dictionary(
      ...Object.entries(scope.contexts).map(([key, value]) => ({ key, value: toData(value) })),
    );
    return new Evaluator(tree, context, functions).evaluate();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new WorkflowError(`${where(scope.file, token)}: cannot evaluate \${{ ${expression} }}: ${message}`);
  }
}

/** A condition (`if:`), already holding its status function (the parser's convertToIfCondition adds one). */
export function evaluateCondition(expression: string, scope: Scope, token?: TemplateToken): boolean {
  return truthy(evaluateExpression(expression, scope, token));
}

/** A token as plain JSON: literals as they are, expressions evaluated, mappings and sequences deep. */
export function evaluateToken(token: TemplateToken, scope: Scope): unknown {
  if (isBasicExpression(token)) return fromData(evaluateExpression(token.expression, scope, token));
  if (isString(token)) return token.value;
  if (isNumber(token)) return token.value;
  if (isBoolean(token)) return token.value;
  if (isMapping(token)) {
    const out: Record<string, unknown> = {};
    for (const pair of token) out[String(evaluateToken(pair.key, scope))] = evaluateToken(pair.value, scope);
    return out;
  }
  if (isSequence(token)) {
    const out: unknown[] = [];
    for (const item of token) out.push(evaluateToken(item, scope));
    return out;
  }
  return null;
}

/** How the runner turns a value into a string (`with:`, `env:`): null is empty, numbers as GitHub prints them. */
export function asString(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return toData(value).coerceString();
}

/** A token that must give a string. */
export function evaluateString(token: TemplateToken, scope: Scope): string {
  const value = evaluateToken(token, scope);
  if (value !== null && typeof value === 'object') {
    throw new WorkflowError(`${where(scope.file, token)}: expected a string, got ${JSON.stringify(value)}`);
  }
  return asString(value);
}

/** A mapping of strings (`env:`, `with:`, `secrets:`, `outputs:`), each value evaluated. */
export function evaluateStringMap(token: TemplateToken | undefined, scope: Scope): Record<string, string> {
  const out: Record<string, string> = {};
  if (token === undefined) return out;
  if (!isMapping(token)) throw new WorkflowError(`${where(scope.file, token)}: expected a mapping`);
  for (const pair of token) out[String(evaluateToken(pair.key, scope))] = evaluateString(pair.value, scope);
  return out;
}

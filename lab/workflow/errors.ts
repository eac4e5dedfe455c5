import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token';

/** A workflow the local runner cannot run as written: named by file and line, never skipped silently. */
export class WorkflowError extends Error {
  override name = 'WorkflowError';
}

/** `file:line` of a token (the file alone when the token has no position). */
export function where(file: string, token?: TemplateToken): string {
  return token?.line === undefined ? file : `${file}:${token.line}`;
}

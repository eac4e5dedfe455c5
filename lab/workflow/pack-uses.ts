/**
 * What a `uses:` naming this pack's published repository points at in a checkout of the pack:
 * `<pack>/actions/<name>@<ref>` → `actions/<name>`, `<pack>@<ref>` → `` (the root action.yml),
 * `<pack>/.github/workflows/<file>@<ref>` → `.github/workflows/<file>`. Every ref is this checkout.
 */
import { PACK_REPOSITORY } from '../../src/cli/new-client.js';

const PACK = PACK_REPOSITORY.replace('/', '\\/');

/** The action's directory relative to the pack's root, or undefined when `uses` is not a pack action. */
export function packActionPath(uses: string): string | undefined {
  const match = new RegExp(`^${PACK}(?:/(actions/[a-z0-9-]+))?@[^/]+$`).exec(uses);
  return match ? (match[1] ?? '') : undefined;
}

/** The reusable workflow's path relative to the pack's root, or undefined. */
export function packWorkflowPath(uses: string): string | undefined {
  return new RegExp(`^${PACK}/(\\.github/workflows/[^@]+)@[^/]+$`).exec(uses)?.[1];
}

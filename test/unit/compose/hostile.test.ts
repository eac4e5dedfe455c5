import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { POLICY_RULES } from '../../../src/compose/policy.js';
import type { Violation } from '../../../src/compose/policy.js';
import { PolicyError, StackError, judgeRecordedStack, renderStack } from '../../../src/compose/stack.js';
import { Tenant } from '../../../src/core/tenant.js';
import { acmePolicy, ymlFiles } from '../../support/corpus.js';

/**
 * The hostile corpus: one stack file per way a client could try to reach the node, the platform or
 * another client. Each says on top what it tries and the rule that must refuse it (`# expect: <rule>`);
 * each is judged through the whole render, as a deploy of client `acme` under an enforcing policy.
 */

const hostile = new URL('../../fixtures/hostile/', import.meta.url);
const benign = new URL('benign/', hostile);

const policy = acmePolicy();

/** Variables a hostile file may use to bring in a forbidden value. */
const env = new Map([
  ['SOCK', '/var/run/docker.sock'],
  ['HOST_NET', 'host'],
  ['OTHER_NET', 'globex-net'],
  ['ROLE', 'manager'],
]);

function render(name: string, text: string) {
  return renderStack({
    tenant: Tenant.parse('acme'),
    file: name,
    text,
    env,
    release: { id: 'r1', time: '2026-01-01T00:00:00Z' },
    policy,
  });
}

/** The violations a refusal carries, or the error itself when it is not a refusal. */
function refusal(name: string, text: string): Violation[] {
  try {
    render(name, text);
  } catch (caught: unknown) {
    if (caught instanceof PolicyError || caught instanceof StackError) return caught.violations;
    throw caught;
  }
  throw new Error(`${name} was accepted`);
}

describe('hostile corpus', () => {
  const names = ymlFiles(hostile);

  test('holds at least 150 files, each naming one rule of the policy', () => {
    expect(names.length).toBeGreaterThanOrEqual(150);
    for (const name of names) {
      const expected = /^# expect: ([a-z-]+)$/m.exec(readFileSync(new URL(name, hostile), 'utf8'))?.[1];
      expect(POLICY_RULES, name).toContain(expected);
    }
  });

  test('covers every refusing rule', () => {
    const named = new Set(
      names.map((name) => /^# expect: ([a-z-]+)$/m.exec(readFileSync(new URL(name, hostile), 'utf8'))?.[1]),
    );
    for (const rule of POLICY_RULES.filter((rule) => rule !== 'default-limits' && rule !== 'stateful-order'))
      expect([...named], rule).toContain(rule);
  });

  test.each(names)('%s is refused by its rule', (name) => {
    const text = readFileSync(new URL(name, hostile), 'utf8');
    const expected = /^# expect: ([a-z-]+)$/m.exec(text)?.[1];
    const violations = refusal(name, text);
    expect(violations.map((violation) => violation.rule)).toContain(expected);
    for (const violation of violations) {
      expect(violation.severity).toBe('error');
      expect(violation.line, `${violation.rule}: ${violation.message}`).toBeGreaterThan(2);
    }
  });
});

describe('benign stack files', () => {
  test.each(ymlFiles(benign))('%s is accepted', (name) => {
    const rendered = render(name, readFileSync(new URL(name, benign), 'utf8'));
    expect(rendered.warnings.filter((warning) => warning.severity === 'error')).toStrictEqual([]);
    expect(rendered.services.length).toBeGreaterThan(0);
    // A rollback judges the rendered text again: what the gate added must pass the gate.
    const again = judgeRecordedStack({ tenant: Tenant.parse('acme'), file: name, text: rendered.yaml, policy });
    expect(again.filter((warning) => warning.severity === 'error')).toStrictEqual([]);
  });
});

import { describe, expect, test } from 'vitest';
import { actionsLog, commandSafe } from '../../../src/core/log.js';
import { runActionInProcess } from '../../support/action-harness.js';

const PROBE = 'test/fixtures/actions/step-probe';
/** The runner masks each stop-commands token itself; any other mask was forged. */
const forgedMasks = (masks: string[]) => masks.filter((m) => !/^[0-9a-f]{32}$/.test(m));

/** What a container could print to take over the job: every form the runner reads as a command. */
const HOSTILE = [
  '::add-mask::plain-visible-word',
  '::error::forged annotation',
  '  ::warning file=stack.yml,line=1::indented forged',
  '::stop-commands::x',
  '::x::',
  '::set-output name=image::evil',
  '::save-state name=lock::stolen',
  '::echo::on',
  'prefix ##[error]legacy forged',
  '##[add-mask]legacy-mask-word',
  '100%0A::error::percent-encoded break',
  'before\r::error::after a carriage return',
  'crlf\r\n::notice::after CR LF',
].join('\n');

describe('commandSafe', () => {
  test('text that holds neither "::" nor "##[" is printed as it is', () => {
    expect(commandSafe('Deploying acme: 3 services (web, worker, db)')).toBe(
      'Deploying acme: 3 services (web, worker, db)',
    );
  });

  test('other text is wrapped in a stop-commands block whose token is new each time', () => {
    const first = commandSafe('::error::x');
    const second = commandSafe('::error::x');
    const token = /^::stop-commands::([0-9a-f]{32})\n::error::x\n::([0-9a-f]{32})::$/.exec(first);
    expect(token?.[1]).toBe(token?.[2]);
    expect(second).not.toBe(first);
  });
});

describe('lines from the swarm printed by an action step (through @actions/core and stdout)', () => {
  test('a hostile log block is shown as text and issues no command', async () => {
    const result = await runActionInProcess({
      action: PROBE,
      run: async () => {
        actionsLog.info(`Last log lines of task abc (acme_web):\n${HOSTILE}`);
        actionsLog.info('after the block');
        actionsLog.warning(HOSTILE);
        actionsLog.error(HOSTILE, { file: 'stack.yml', startLine: 2, title: HOSTILE });
      },
    });
    expect(forgedMasks(result.masks)).toEqual([]);
    expect(result.outputs).toEqual({});
    expect(result.state).toEqual({});
    expect(result.outcome).toBe('success');
    // Exactly the two annotations the step issued, each carrying the text unchanged as data.
    expect(result.annotations.map((a) => [a.level, a.message, a.title])).toEqual([
      ['warning', HOSTILE, undefined],
      ['error', HOSTILE, HOSTILE],
    ]);
    const shown = result.log.join('\n');
    for (const line of ['::add-mask::plain-visible-word', '::error::forged annotation', '::x::', 'after the block'])
      expect(shown).toContain(line);
    expect(shown).toContain('prefix ##[error]legacy forged');
    expect(shown).toContain('##[add-mask]legacy-mask-word');
  });

  test('a line that would end a guessed stop-commands block does not resume commands', async () => {
    const result = await runActionInProcess({
      action: PROBE,
      run: async () => {
        for (const token of ['x', 'swarm-deploy', '0'.repeat(32)])
          actionsLog.info(`::${token}::\n::add-mask::plain-visible-word\n::error::forged`);
      },
    });
    expect(forgedMasks(result.masks)).toEqual([]);
    expect(result.annotations).toEqual([]);
    expect(result.outcome).toBe('success');
  });
});

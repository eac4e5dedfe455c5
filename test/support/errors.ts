import { ConfigurationError } from '../../src/core/errors.js';
import { actionField } from '../../src/core/run.js';

/** The configuration error `fn` throws (anything else, or nothing, fails the test). */
export function configurationErrorOf(fn: () => unknown): ConfigurationError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error('expected a ConfigurationError, nothing was thrown');
}

/** The error `fn` throws as an action step reports it: its field spelled `Input "<input>"`. */
export function actionSpelling(fn: () => unknown): string {
  return configurationErrorOf(fn).spelled(actionField);
}

/**
 * The runner-contract harness this runner builds on: action steps run through it, and `run:`
 * steps share its reading of workflow commands and file commands.
 */
export {
  CommandReader,
  createFileCommands,
  readFileCommands,
  runActionStep,
  runProcess,
  type ActionStepOptions,
  type ActionStepResult,
  type Annotation,
} from './interim-harness.js';

import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// Rooms by layer (docs/architecture.md): each room imports only from the rooms below it. The
// entries (src/actions, src/cli, src/gate) sit on top and nothing imports them; src/compose is pure and
// reaches no transport, state or process.
const ROOMS = {
  core: [],
  transport: ['core'],
  compose: ['core'],
  state: ['core'],
  rollout: ['core', 'compose', 'state', 'transport'],
  views: ['core', 'compose', 'state', 'rollout'],
  steps: ['core', 'transport', 'compose', 'state', 'rollout', 'views'],
  image: ['core'],
  registry: ['core'],
  health: ['core'],
  notify: ['core'],
  github: ['core'],
  cli: ['core', 'transport', 'compose', 'state', 'rollout', 'views', 'steps'],
  gate: ['core', 'transport', 'compose', 'state', 'rollout', 'views', 'steps', 'image', 'registry', 'health', 'notify'],
};
const ENTRY_ALLOWED = [
  'core',
  'transport',
  'compose',
  'state',
  'rollout',
  'views',
  'image',
  'registry',
  'health',
  'notify',
  'github',
  'steps',
];

/** Forbids relative imports that leave `room` for any room not in `allowed`. */
function roomRule(files, allowed, depth) {
  const up = `(?:\\.\\./){${depth}}`;
  const allowedRooms = allowed.length === 0 ? '' : `(?!(?:${allowed.join('|')})/)`;
  return {
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^${up}${allowedRooms}[^./]`,
              message: `this room may import only from: ${allowed.join(', ') || 'itself'} (see docs/architecture.md)`,
            },
          ],
        },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.lab/', 'examples/**/node_modules/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  ...Object.entries(ROOMS).map(([room, allowed]) => roomRule([`src/${room}/**/*.ts`], allowed, 1)),
  roomRule(['src/actions/*/*.ts'], ENTRY_ALLOWED, 2),
);

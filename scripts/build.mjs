// Builds one ncc bundle per action (and the CLI) into dist/<name>/index.js.
// `--check` builds into a temporary folder and fails when dist/ differs: dist/ must match src/.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { renderRootAction } from './generate-docs.mjs';

export const ENTRIES = {
  'build-and-tag': 'src/actions/build-and-tag/index.ts',
  'ecr-push': 'src/actions/ecr-push/index.ts',
  'swarm-deploy': 'src/actions/swarm-deploy/index.ts',
  'swarm-deploy-post': 'src/actions/swarm-deploy/post.ts',
  'verify-health': 'src/actions/verify-health/index.ts',
  'notify-discord': 'src/actions/notify-discord/index.ts',
  'record-deployment': 'src/actions/record-deployment/index.ts',
  cli: 'src/cli/index.ts',
  gate: 'src/gate/index.ts',
};

const check = process.argv.includes('--check');
const out = check ? mkdtempSync(join(tmpdir(), 'swarm-deploy-dist-')) : 'dist';
if (!check) rmSync('dist', { recursive: true, force: true });

// The bundles are ES modules, where CommonJS's __filename and __dirname do not exist; some
// bundled CommonJS code reads them at run time (ssh2's WebAssembly loader does), so every bundle
// starts by defining them from import.meta.url.
const COMMONJS_GLOBALS =
  'import{fileURLToPath as __cjsFileURLToPath}from"node:url";import{dirname as __cjsDirname}from"node:path";' +
  'const __filename=__cjsFileURLToPath(import.meta.url);const __dirname=__cjsDirname(__filename);\n';

function addCommonJsGlobals(file) {
  const code = readFileSync(file, 'utf8');
  if (!code.startsWith(COMMONJS_GLOBALS)) writeFileSync(file, COMMONJS_GLOBALS + code);
}

// ncc copies native addons it finds in node_modules (ssh2's optional sshcrypto.node, cpu-features,
// Windows' pagent.exe). They exist only where npm built them, for that Node.js ABI: keeping them
// would make dist/ depend on the machine that built it. ssh2 falls back to its pure-JS crypto.
function dropNativeAssets(dir) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      dropNativeAssets(path);
      if (readdirSync(path).length === 0) rmSync(path, { recursive: true });
    } else if (/\.(node|exe)$/.test(entry)) {
      rmSync(path);
    }
  }
}

function bundle(name, entry) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        'node_modules/@vercel/ncc/dist/ncc/cli.js',
        'build',
        entry,
        '-o',
        join(out, name),
        '--minify',
        '--license',
        'licenses.txt',
        '--quiet',
        '--target',
        'es2022',
        '--transpile-only',
      ],
      { stdio: 'inherit' },
    );
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`ncc failed for ${entry} (exit ${code})`));
      addCommonJsGlobals(join(out, name, 'index.js'));
      dropNativeAssets(join(out, name));
      resolve();
    });
  });
}

// Two bundles at a time: the machines this runs on have two cores.
const queue = Object.entries(ENTRIES).filter(([, entry]) => existsSync(entry));
await Promise.all(
  [0, 1].map(async () => {
    for (let next = queue.shift(); next; next = queue.shift()) await bundle(...next);
  }),
);

function files(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

// docs/cli.md's reference is generated from the commands' usage (TypeScript, so through tsx).
const cliDocs = await new Promise((resolve) => {
  const args = ['--import', 'tsx', 'scripts/cli-docs.ts', ...(check ? ['--check'] : [])];
  spawn(process.execPath, args, { stdio: 'inherit' }).on('close', (code) => resolve(code === 0));
});
if (!cliDocs) process.exit(1);

// The root action.yml is generated from actions/swarm-deploy/action.yml, checked like dist/.
const rootAction = renderRootAction();
const rootActionStale = readFileSync('action.yml', 'utf8') !== rootAction;
if (!check && rootActionStale) writeFileSync('action.yml', rootAction);

if (check) {
  const built = files(out)
    .map((f) => relative(out, f))
    .sort();
  const committed = existsSync('dist')
    ? files('dist')
        .map((f) => relative('dist', f))
        .sort()
    : [];
  const stale = [
    ...built.filter((f) => !committed.includes(f) || !readFileSync(join(out, f)).equals(readFileSync(join('dist', f)))),
    ...committed.filter((f) => !built.includes(f)),
  ];
  rmSync(out, { recursive: true, force: true });
  if (rootActionStale) {
    console.error('action.yml is not what actions/swarm-deploy/action.yml says. Run `npm run build` and commit it.');
    process.exit(1);
  }
  if (stale.length > 0) {
    console.error(
      `dist/ does not match src/ (${stale.length} file(s) differ: ${stale.slice(0, 5).join(', ')}). Run \`npm run build\` and commit dist/.`,
    );
    process.exit(1);
  }
  console.log('dist/ matches src/.');
}

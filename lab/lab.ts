/**
 * The lab: a real single-node Docker Swarm, a real registry and a real sshd on loopback, on this
 * machine. `labUp()` is idempotent: it installs (Debian, as root) only what is missing, starts
 * only what is not running, and records what it started so `labDown()` removes only that.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, copyFileSync, chmodSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const LAB_DIR = resolve(process.env.SWARM_LAB_DIR ?? join(REPO_ROOT, '.lab'));
export const REGISTRY = '127.0.0.1:5000';
const BASE_IMAGE = `${REGISTRY}/lab/base:1`;

export interface LabInfo {
  dir: string;
  registry: string;
  ssh: { host: string; port: number; user: string; privateKeyPath: string; knownHostsLine: string; logPath: string };
  baseImage: string;
}

interface LabState {
  started: { dockerd?: number; registry?: number; sshd?: number; registryContainer?: string };
  swarmCreated?: boolean;
  sshPort?: number;
}

type Say = (line: string) => void;
const quiet: Say = () => undefined;

function sh(
  program: string,
  args: string[],
  options: { input?: string; allowFail?: boolean } = {},
): { code: number; out: string; err: string } {
  const r = spawnSync(program, args, { input: options.input ?? '', encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const result = { code: r.status ?? 1, out: (r.stdout ?? '').trim(), err: (r.stderr ?? '').trim() };
  if (r.error && !options.allowFail) throw r.error;
  if (result.code !== 0 && !options.allowFail) {
    throw new Error(`${program} ${args.slice(0, 3).join(' ')} failed (${result.code}): ${result.err || result.out}`);
  }
  return result;
}

function has(command: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', command]).status === 0;
}

function statePath(): string {
  return join(LAB_DIR, 'state.json');
}
function readState(): LabState {
  try {
    return JSON.parse(readFileSync(statePath(), 'utf8')) as LabState;
  } catch {
    return { started: {} };
  }
}
function writeState(state: LabState): void {
  writeFileSync(statePath(), JSON.stringify(state, null, 2));
}

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Start a daemon detached from our stdio (a held pipe would keep CI "running"), logging to a file. */
function daemon(program: string, args: string[], log: string): number {
  const fd = openSync(log, 'a');
  const child = spawn(program, args, { detached: true, stdio: ['ignore', fd, fd] });
  child.unref();
  if (!child.pid) throw new Error(`could not start ${program}`);
  return child.pid;
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`lab: timed out after ${timeoutMs / 1000}s waiting for ${what}`);
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function dockerWorks(): boolean {
  return sh('docker', ['info', '--format', '{{.ServerVersion}}'], { allowFail: true }).code === 0;
}

async function registryAnswers(): Promise<boolean> {
  try {
    const response = await fetch(`http://${REGISTRY}/v2/`, { signal: AbortSignal.timeout(2000) });
    return response.status === 200 || response.status === 401;
  } catch {
    return false;
  }
}

function staticBusybox(): string | undefined {
  for (const candidate of ['/bin/busybox', '/usr/bin/busybox']) {
    if (existsSync(candidate) && sh('ldd', [candidate], { allowFail: true }).code !== 0) return candidate;
  }
  return undefined;
}

/** apt-get install what is missing (Debian as root only); elsewhere say what to install. */
function ensurePackages(say: Say): void {
  const wanted: string[] = [];
  if (!dockerWorks() && !has('dockerd')) wanted.push('docker.io');
  if (!existsSync('/usr/sbin/sshd')) wanted.push('openssh-server');
  // Where apt is there the registry is Debian's; elsewhere (a laptop) a registry container stands in.
  if (!has('docker-registry') && has('apt-get')) wanted.push('docker-registry');
  if (!staticBusybox()) wanted.push('busybox-static');
  if (!has('htpasswd')) wanted.push('apache2-utils');
  if (!has('ssh-keygen')) wanted.push('openssh-client');
  if (wanted.length === 0) return;
  const root = process.getuid?.() === 0;
  if (!root || !has('apt-get')) {
    throw new Error(`lab: missing ${wanted.join(', ')}; install them (Debian/Ubuntu package names) and run again`);
  }
  say(`lab: installing ${wanted.join(' ')} with apt-get`);
  sh('apt-get', ['update', '-q']);
  const r = spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...wanted], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`lab: apt-get install failed: ${(r.stderr ?? '').slice(-2000)}`);
}

async function ensureDocker(state: LabState, say: Say): Promise<void> {
  if (dockerWorks()) return;
  if (alive(state.started.dockerd)) {
    await waitFor('dockerd', dockerWorks, 60_000);
    return;
  }
  say('lab: starting dockerd');
  const pidfile = join(LAB_DIR, 'dockerd.pid');
  state.started.dockerd = daemon('dockerd', ['--pidfile', pidfile], join(LAB_DIR, 'dockerd.log'));
  writeState(state);
  await waitFor('dockerd to answer', dockerWorks, 90_000);
}

function ensureSwarm(state: LabState, say: Say): void {
  const nodeState = sh('docker', ['info', '--format', '{{.Swarm.LocalNodeState}}']).out;
  if (nodeState === 'active') return;
  say('lab: initialising a single-node swarm');
  sh('docker', ['swarm', 'init', '--advertise-addr', '127.0.0.1']);
  state.swarmCreated = true;
  writeState(state);
}

async function ensureRegistry(state: LabState, say: Say): Promise<void> {
  if (await registryAnswers()) return;
  if (has('docker-registry')) {
    say(`lab: starting a registry on ${REGISTRY}`);
    const config = join(LAB_DIR, 'registry.yml');
    writeFileSync(
      config,
      [
        'version: 0.1',
        'log: { level: warn }',
        'storage:',
        `  filesystem: { rootdirectory: ${join(LAB_DIR, 'registry')} }`,
        '  delete: { enabled: true }',
        'http:',
        `  addr: ${REGISTRY}`,
        '',
      ].join('\n'),
    );
    state.started.registry = daemon('docker-registry', ['serve', config], join(LAB_DIR, 'registry.log'));
  } else {
    say(`lab: starting a registry container on ${REGISTRY}`);
    sh('docker', ['run', '-d', '--name', 'swarm-deploy-lab-registry', '-p', `${REGISTRY}:5000`, 'registry:2']);
    state.started.registryContainer = 'swarm-deploy-lab-registry';
  }
  writeState(state);
  await waitFor('the registry', registryAnswers, 30_000);
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolveAnswer) => {
    import('node:net').then(({ connect }) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolveAnswer(true);
      });
      socket.once('error', () => resolveAnswer(false));
    });
  });
}

/** An ed25519 key pair at `path` and `path.pub`, made once. */
export function ed25519Key(path: string, comment: string): void {
  if (!existsSync(path)) sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
}

/** The known_hosts line pinning a host key (`<key>.pub`) for an sshd on 127.0.0.1:port. */
export function loopbackKnownHostsLine(hostKey: string, port: number): string {
  const [type, key] = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/);
  return `[127.0.0.1]:${port} ${type} ${key}`;
}

export interface LoopbackSshd {
  /** Where its sshd_config is written. */
  config: string;
  port: number;
  hostKey: string;
  authorizedKeys: string;
  pidFile: string;
  /** sshd's own log (-E), which shows every connection it accepts. */
  logPath: string;
  /** The daemon's stdout and stderr. */
  outPath: string;
  /** Lines added to the configuration. */
  extra?: string[];
}

/**
 * Start an sshd on 127.0.0.1 that lets this machine's user in with a key only, detached and
 * logging to files, and wait until it answers; returns its pid (the caller stops it by that pid).
 */
export async function startLoopbackSshd(sshd: LoopbackSshd): Promise<number> {
  writeFileSync(
    sshd.config,
    [
      `Port ${sshd.port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${sshd.hostKey}`,
      `PidFile ${sshd.pidFile}`,
      `AuthorizedKeysFile ${sshd.authorizedKeys}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'StrictModes no',
      'UsePAM no',
      'LogLevel VERBOSE',
      ...(sshd.extra ?? []),
      '',
    ].join('\n'),
  );
  mkdirSync('/run/sshd', { recursive: true });
  const pid = daemon('/usr/sbin/sshd', ['-D', '-f', sshd.config, '-E', sshd.logPath], sshd.outPath);
  try {
    await waitFor('sshd', () => portAnswers(sshd.port), 20_000);
  } catch (error) {
    process.kill(pid, 'SIGTERM'); // never left running unrecorded
    throw error;
  }
  return pid;
}

async function ensureSshd(state: LabState, say: Say): Promise<LabInfo['ssh']> {
  const dir = join(LAB_DIR, 'ssh');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const hostKey = join(dir, 'host_ed25519');
  const clientKey = join(dir, 'id_ed25519');
  ed25519Key(hostKey, 'swarm-deploy-lab-host');
  ed25519Key(clientKey, 'swarm-deploy-lab-client');
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${clientKey}.pub`));
  chmodSync(join(dir, 'authorized_keys'), 0o600);
  const user = userInfo().username;
  const logPath = join(LAB_DIR, 'sshd.log');
  if (!(state.sshPort && alive(state.started.sshd) && (await portAnswers(state.sshPort)))) {
    const port = await freePort();
    say(`lab: starting sshd on 127.0.0.1:${port}`);
    state.started.sshd = await startLoopbackSshd({
      config: join(dir, 'sshd_config'),
      port,
      hostKey,
      authorizedKeys: join(dir, 'authorized_keys'),
      pidFile: join(LAB_DIR, 'sshd.pid'),
      logPath,
      outPath: join(LAB_DIR, 'sshd.out'),
      extra: [
        'MaxSessions 64',
        'MaxStartups 64:30:128',
        `AllowUsers ${user}`,
        // sshd runs each command through the user's shell, and Debian's bash then reads ~/.bashrc
        // (a developer's pyenv or nvm set-up there costs a second or more per command). A manager
        // runs its deploy user's commands without such a set-up: a shell level of 1 keeps bash from it.
        'SetEnv SHLVL=1',
        'Subsystem sftp internal-sftp',
      ],
    });
    state.sshPort = port;
    writeState(state);
  }
  const port = state.sshPort as number;
  return {
    host: '127.0.0.1',
    port,
    user,
    privateKeyPath: clientKey,
    knownHostsLine: loopbackKnownHostsLine(hostKey, port),
    logPath,
  };
}

function imageExists(ref: string): boolean {
  return sh('docker', ['image', 'inspect', '--format', '{{.Id}}', ref], { allowFail: true }).code === 0;
}

/** A FROM-scratch image with static busybox and this machine's node binary plus the libraries ldd lists. */
function ensureBaseImage(say: Say): void {
  if (imageExists(BASE_IMAGE)) {
    sh('docker', ['push', BASE_IMAGE], { allowFail: true });
    return;
  }
  say('lab: building the base image (busybox + node) from binaries on this machine');
  const context = join(LAB_DIR, 'images', 'base');
  rmSync(context, { recursive: true, force: true });
  const rootfs = join(context, 'rootfs');
  const put = (source: string, target = source) => {
    const destination = join(rootfs, target);
    mkdirSync(dirname(destination), { recursive: true });
    copyFileSync(source, destination);
    chmodSync(destination, 0o755);
  };
  const busybox = staticBusybox();
  if (!busybox) throw new Error('lab: no static busybox');
  put(busybox, '/bin/busybox');
  const node = sh('readlink', ['-f', process.execPath]).out;
  put(node, '/usr/bin/node');
  for (const line of sh('ldd', [node]).out.split('\n')) {
    const match = /(\/\S+)\s+\(0x/.exec(line) ?? /=>\s+(\/\S+)/.exec(line);
    if (match?.[1]) put(sh('readlink', ['-f', match[1]]).out, match[1]);
  }
  mkdirSync(join(rootfs, 'etc'), { recursive: true });
  mkdirSync(join(rootfs, 'tmp'), { recursive: true });
  writeFileSync(
    join(rootfs, 'etc', 'passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n',
  );
  writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  writeFileSync(
    join(context, 'Dockerfile'),
    [
      'FROM scratch',
      'COPY rootfs/ /',
      'RUN ["/bin/busybox", "--install", "-s", "/bin"]',
      'ENV PATH=/usr/bin:/bin',
      '',
    ].join('\n'),
  );
  sh('docker', ['build', '-q', '-t', BASE_IMAGE, context]);
  sh('docker', ['push', BASE_IMAGE]);
}

export type AppMode = 'ok' | 'crash' | 'unhealthy' | 'http500';

/**
 * The lab app's Docker healthcheck. A probe is a `docker exec` of wget. On a loaded 2-core machine the
 * exec alone can take seconds, and a node process held to the default 0.5 CPU can take many seconds to
 * start listening. With a 1 s start period, a 2 s timeout and 2 retries, healthy tasks were marked
 * unhealthy and stopped; a probe that still answered while the task drained then sent a late healthy
 * event, which the swarm agent reported as "network sandbox does not exist", and deploys rolled back
 * for nothing. Now failures in the first 30 s do not count (a success still counts at once, so a
 * healthy task is reported as soon as it answers), and a slow probe gets 15 s. An `unhealthy` image
 * is reported about 30 s after it starts.
 */
const APP_HEALTHCHECK =
  'HEALTHCHECK --interval=1s --timeout=15s --start-period=30s --retries=3 CMD ["/bin/wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/alive"]';

export function buildAppImage(
  lab: LabInfo,
  options: { version: string; mode?: AppMode; repository?: string; push?: boolean },
): string {
  const mode = options.mode ?? 'ok';
  const repository = options.repository ?? 'lab/app';
  const ref = `${lab.registry}/${repository}:${options.version}`;
  // Rebuilt when the app's code changed since the image with this tag was built.
  const appHash = createHash('sha256')
    .update(APP_HEALTHCHECK)
    .update(readFileSync(join(REPO_ROOT, 'lab', 'app', 'server.mjs')))
    .update(readFileSync(join(REPO_ROOT, 'lab', 'app', 'router.mjs')))
    .update(mode)
    .digest('hex')
    .slice(0, 16);
  const built = sh('docker', ['image', 'inspect', '--format', '{{index .Config.Labels "lab.app-hash"}}', ref], {
    allowFail: true,
  });
  if (built.code !== 0 || built.out !== appHash) {
    const context = join(lab.dir, 'images', `app-${repository.replace(/\//g, '_')}-${options.version}`);
    mkdirSync(context, { recursive: true });
    copyFileSync(join(REPO_ROOT, 'lab', 'app', 'server.mjs'), join(context, 'server.mjs'));
    copyFileSync(join(REPO_ROOT, 'lab', 'app', 'router.mjs'), join(context, 'router.mjs'));
    writeFileSync(
      join(context, 'Dockerfile'),
      [
        `FROM ${lab.baseImage}`,
        'COPY server.mjs router.mjs /app/',
        `ENV APP_VERSION=${JSON.stringify(options.version)} APP_MODE=${mode} PORT=8080`,
        `LABEL lab.app-hash=${appHash}`,
        'EXPOSE 8080',
        APP_HEALTHCHECK,
        'CMD ["/usr/bin/node", "/app/server.mjs"]',
        '',
      ].join('\n'),
    );
    sh('docker', ['build', '-q', '-t', ref, context]);
    rmSync(context, { recursive: true, force: true });
  }
  if (options.push !== false) sh('docker', ['push', ref]);
  return ref;
}

/**
 * The lab's stand-in for the shared Traefik: a router service (lab/app/router.mjs) on the client's
 * network that forwards to `tasks.<client>_<service>`, published on a host port of the node.
 */
export function createRouter(
  lab: LabInfo,
  options: { name: string; client: string; service: string; port: number; labels?: string[] },
): void {
  sh('docker', [
    'service',
    'create',
    '--detach',
    '--name',
    options.name,
    '--network',
    `${options.client}-net`,
    '--publish',
    `mode=host,target=8080,published=${options.port}`,
    '--env',
    `TARGET=${options.client}_${options.service}`,
    ...(options.labels ?? []).flatMap((label) => ['--label', label]),
    buildAppImage(lab, { version: 'router' }),
    '/usr/bin/node',
    '/app/router.mjs',
  ]);
}

export async function labUp(say: Say = quiet): Promise<LabInfo> {
  mkdirSync(LAB_DIR, { recursive: true });
  const state = readState();
  ensurePackages(say);
  await ensureDocker(state, say);
  ensureSwarm(state, say);
  await ensureRegistry(state, say);
  const ssh = await ensureSshd(state, say);
  ensureBaseImage(say);
  const info: LabInfo = { dir: LAB_DIR, registry: REGISTRY, ssh, baseImage: BASE_IMAGE };
  writeFileSync(join(LAB_DIR, 'lab.json'), JSON.stringify(info, null, 2));
  return info;
}

/** The running lab's description, as written by labUp. */
export function labInfo(): LabInfo {
  return JSON.parse(readFileSync(join(LAB_DIR, 'lab.json'), 'utf8')) as LabInfo;
}

/** `2026-11-23 04:08:26.843386939 +0000 UTC` (Go's time format, as the docker CLI prints it) → ms. */
function dockerTime(text: string): number {
  const [date, time] = text.trim().split(' ');
  return Date.parse(`${date}T${(time ?? '').slice(0, 12)}Z`);
}

/**
 * Remove services, secrets, configs, networks and volumes whose names start with a prefix (test
 * leftovers), including release records and locks (`sdr.<client>.<id>`, `sdl.<client>`).
 * With `olderThanMs`, only what was created before then: a killed earlier run's leftovers, never
 * what a run going on right now is using.
 */
export function sweep(prefix: string, olderThanMs = 0): void {
  const cutoff = Date.now() - olderThanMs;
  const matches = (name: string) =>
    name.startsWith(prefix) || name.startsWith(`sdr.${prefix}`) || name.startsWith(`sdl.${prefix}`);
  const stale = (args: string[]) =>
    sh('docker', [...args, '--format', '{{.Name}}|{{.CreatedAt}}'], { allowFail: true })
      .out.split('\n')
      .map((line) => line.split('|'))
      .filter(([name, created]) => name && matches(name) && (olderThanMs === 0 || dockerTime(created ?? '') < cutoff))
      .map(([name]) => name as string);
  const serviceNames = sh('docker', ['service', 'ls', '--format', '{{.Name}}'], { allowFail: true })
    .out.split('\n')
    .filter((n) => n.startsWith(prefix));
  const services = serviceNames.length
    ? sh('docker', ['service', 'inspect', '--format', '{{.Spec.Name}}|{{.CreatedAt}}', ...serviceNames], {
        allowFail: true,
      })
        .out.split('\n')
        .map((line) => line.split('|'))
        .filter(([name, created]) => name && (olderThanMs === 0 || dockerTime(created ?? '') < cutoff))
        .map(([name]) => name as string)
    : [];
  if (services.length) {
    sh('docker', ['service', 'rm', ...services], { allowFail: true });
    // Tasks must be gone before their networks, secrets and configs can be removed.
    const running = () =>
      sh('docker', ['ps', '-a', '--format', '{{.Names}}'], { allowFail: true })
        .out.split('\n')
        .filter((n) => services.some((s) => n.startsWith(`${s}.`)));
    for (let i = 0; i < 60 && running().length > 0; i++) spawnSync('sleep', ['0.5']);
  }
  for (const kind of ['secret', 'config']) {
    const names = stale([kind, 'ls']);
    if (names.length) sh('docker', [kind, 'rm', ...names], { allowFail: true });
  }
  for (const n of stale(['network', 'ls'])) sh('docker', ['network', 'rm', n], { allowFail: true });
  // Named volumes of a stack (`<client>_<volume>`): `docker volume ls` shows no creation time, inspect
  // gives it in RFC 3339.
  const volumes = sh('docker', ['volume', 'ls', '--format', '{{.Name}}'], { allowFail: true })
    .out.split('\n')
    .filter((name) => name && matches(name))
    .filter(
      (name) =>
        olderThanMs === 0 ||
        Date.parse(sh('docker', ['volume', 'inspect', '--format', '{{.CreatedAt}}', name], { allowFail: true }).out) <
          cutoff,
    );
  if (volumes.length) sh('docker', ['volume', 'rm', ...volumes], { allowFail: true });
}

export async function labDown(say: Say = quiet): Promise<void> {
  const state = readState();
  // Test leftovers of killed runs only: a lab test going on right now keeps what it uses.
  if (dockerWorks()) sweep('lt-', 3_600_000);
  const stop = (name: string, pid: number | undefined) => {
    if (alive(pid)) {
      say(`lab: stopping ${name} (pid ${pid})`);
      process.kill(pid as number, 'SIGTERM');
    }
  };
  stop('sshd', state.started.sshd);
  stop('registry', state.started.registry);
  if (state.started.registryContainer) sh('docker', ['rm', '-f', state.started.registryContainer], { allowFail: true });
  if (state.swarmCreated && dockerWorks()) {
    say('lab: leaving the swarm it created');
    sh('docker', ['swarm', 'leave', '--force'], { allowFail: true });
  }
  if (state.started.dockerd && alive(state.started.dockerd)) {
    stop('dockerd', state.started.dockerd);
    await waitFor('dockerd to stop', () => !alive(state.started.dockerd), 30_000).catch(() => undefined);
  }
  rmSync(statePath(), { force: true });
  rmSync(join(LAB_DIR, 'lab.json'), { force: true });
}

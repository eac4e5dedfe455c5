/**
 * The per-client deploy lock, kept on the swarm so it spans repositories (GitHub's concurrency
 * groups serialize runs of one repository only). The lock is a Swarm config named `sdl.<client>`:
 * `docker config create` is atomic in the managers' Raft store, so of two deploys racing for it
 * exactly one succeeds. The holder (run URL, actor, time, expiry) is its content. An expired lock
 * (a crashed runner) is removed by its ID, so two waiters taking it over cannot both win.
 */
import { randomBytes } from 'node:crypto';
import { ConfigurationError, errorMessage } from '../core/errors.js';
import { formatDuration } from '../core/duration.js';
import type { Log } from '../core/log.js';
import { systemClock, type Clock } from '../core/retry.js';
import { managerTime } from './docker.js';
import { Tenant } from '../core/tenant.js';
import type { CommandRunner } from '../core/exec.js';

export interface LockHolder {
  client: string;
  kind: 'deploy' | 'maintenance';
  runUrl?: string | undefined;
  actor?: string | undefined;
  /** When the lock was taken, ms (the swarm's own creation time of the config once read back). */
  since: number;
  /** When it expires, ms; none for a maintenance hold. */
  expiresAt?: number | undefined;
  /** Its lifetime: the expiry is the config's creation time on the managers plus this, so a runner's clock never matters. */
  ttlMs?: number | undefined;
  message?: string | undefined;
  /** Random, per attempt to take the lock: tells our own lock from another run's after a dropped connection. */
  token?: string | undefined;
}

export interface HeldLock {
  id: string;
  name: string;
  holder: LockHolder;
  /** Taken at the first try: nobody held the lock when this run asked for it. */
  uncontended?: boolean;
  /** When the lock was taken, on the runner's clock (set by acquireLock). */
  takenAt?: number;
}

/** Deploys of this client are blocked (maintenance hold, or the wait for the lock ran out). */
export class LockError extends ConfigurationError {}

function holderName(holder: LockHolder): string {
  return [holder.actor, holder.runUrl].filter(Boolean).join(' — ') || 'an unknown run';
}

export function describeHolder(holder: LockHolder, now: number): string {
  const who = holderName(holder);
  const age = formatDuration(Math.max(0, now - holder.since));
  const expiry =
    holder.expiresAt === undefined
      ? ''
      : holder.expiresAt <= now
        ? `, expired ${formatDuration(now - holder.expiresAt)} ago`
        : `, expires in ${formatDuration(holder.expiresAt - now)}`;
  const message = holder.message ? `: "${holder.message}"` : '';
  return `${holder.kind === 'maintenance' ? 'a maintenance hold' : 'a deploy'} by ${who} (held for ${age}${expiry})${message}`;
}

async function tryCreate(runner: CommandRunner, holder: LockHolder): Promise<string | undefined> {
  const result = await runner.run(
    [
      'docker',
      'config',
      'create',
      ...Tenant.recorded(holder.client)
        .labels('lock')
        .flatMap((label) => ['--label', label]),
      Tenant.recorded(holder.client).lockConfig,
      '-',
    ],
    // Run again after a dropped connection: if the first attempt landed, the second finds the lock
    // taken, and the caller recognises it as its own by the token.
    { stdin: JSON.stringify(holder), allowFailure: true, repeatable: true },
  );
  if (result.code === 0) return result.stdout.trim();
  if (/already exists|AlreadyExists|name conflicts/i.test(result.stderr)) return undefined;
  throw new Error(`could not create the deploy lock: ${result.stderr.trim()}`);
}

export async function readLock(runner: CommandRunner, client: string): Promise<HeldLock | undefined> {
  const out = await runner.run(['docker', 'config', 'inspect', Tenant.recorded(client).lockConfig], {
    allowFailure: true,
  });
  if (out.code !== 0) return undefined;
  const [config] = JSON.parse(out.stdout) as {
    ID: string;
    CreatedAt?: string;
    Spec: { Name: string; Data?: string };
  }[];
  if (!config) return undefined;
  let holder: LockHolder;
  try {
    holder = JSON.parse(Buffer.from(config.Spec.Data ?? '', 'base64').toString('utf8')) as LockHolder;
  } catch {
    holder = { client, kind: 'deploy', since: 0, expiresAt: 0 };
  }
  // The managers' own timestamp of the lock is what its age and expiry are measured from.
  const created = Date.parse(config.CreatedAt ?? '');
  if (Number.isFinite(created) && holder.ttlMs !== undefined) {
    holder = { ...holder, since: created, expiresAt: created + holder.ttlMs };
  }
  return { id: config.ID, name: config.Spec.Name, holder };
}

export interface AcquireOptions {
  runner: CommandRunner;
  log: Log;
  client: string;
  runUrl?: string | undefined;
  actor?: string | undefined;
  /** How long to wait for another deploy's lock before failing. */
  waitMs: number;
  /** How long this lock lives if its holder never releases it. */
  expiryMs: number;
  kind?: 'deploy' | 'maintenance';
  message?: string | undefined;
  clock?: Clock;
  pollMs?: number;
}

/** Take the client's lock, waiting for another deploy up to `waitMs`; a maintenance hold fails at once. */
export async function acquireLock(options: AcquireOptions): Promise<HeldLock> {
  const { runner, log, client } = options;
  const clock = options.clock ?? systemClock;
  const kind = options.kind ?? 'deploy';
  // The manager's clock is read only when another holder must be judged: the free path is one command.
  let offset: number | undefined;
  const start = clock.now();
  let announced = false;
  let vanished = 0;
  let attempts = 0;
  const token = randomBytes(12).toString('hex');
  for (;;) {
    const local = clock.now() + (offset ?? 0);
    const holder: LockHolder = {
      client,
      kind,
      runUrl: options.runUrl,
      actor: options.actor,
      since: local,
      expiresAt: kind === 'maintenance' ? undefined : local + options.expiryMs,
      ttlMs: kind === 'maintenance' ? undefined : options.expiryMs,
      message: options.message,
      token,
    };
    const id = await tryCreate(runner, holder);
    attempts += 1;
    if (id) {
      log.info(
        `Took the ${kind} lock of ${client}${announced ? ` after waiting ${formatDuration(clock.now() - start)}` : ''}`,
      );
      return {
        id,
        name: Tenant.recorded(client).lockConfig,
        holder,
        uncontended: attempts === 1,
        takenAt: clock.now(),
      };
    }
    const existing = await readLock(runner, client);
    if (!existing) {
      // Released between our create and inspect: try again at once. A lock that exists but cannot
      // be read keeps doing this; it is waited for like any other, within the wait.
      vanished += 1;
      if (vanished <= 3) continue;
      if (clock.now() - start >= options.waitMs) {
        throw new LockError(
          `gave up after waiting ${formatDuration(options.waitMs)} for the deploy lock of ${client}: ${Tenant.recorded(client).lockConfig} exists but cannot be read`,
          'lock-timeout',
        );
      }
      await clock.sleep(Math.min(options.pollMs ?? 1000, Math.max(0, options.waitMs - (clock.now() - start))));
      continue;
    }
    vanished = 0;
    if (existing.holder.token === token) {
      // Our own create landed before the connection dropped; its repeat found it.
      log.info(`Took the ${kind} lock of ${client} (confirmed after a reconnect)`);
      return existing;
    }
    offset ??= (await managerTime(runner)) - clock.now();
    const now = clock.now() + offset;
    const other = existing.holder;
    if (other.kind === 'maintenance') {
      throw new LockError(
        `deploys of ${client} are on hold: ${describeHolder(other, now)}. Release it with lock: release when the work is done.`,
        'lock',
      );
    }
    if (other.expiresAt !== undefined && other.expiresAt <= now) {
      log.warning(`Taking over the expired deploy lock of ${client}, left by ${describeHolder(other, now)}`);
      await runner.run(['docker', 'config', 'rm', existing.id], { allowFailure: true });
      continue;
    }
    if (clock.now() - start >= options.waitMs) {
      throw new LockError(
        `gave up after waiting ${formatDuration(options.waitMs)} for the deploy lock of ${client}, held by ${describeHolder(other, now)}`,
        'lock-timeout',
      );
    }
    if (!announced) {
      log.info(`Waiting for the deploy lock of ${client}, held by ${describeHolder(other, now)}`);
      announced = true;
    }
    await clock.sleep(Math.min(options.pollMs ?? 1000, Math.max(0, options.waitMs - (clock.now() - start))));
  }
}

/** `lock: hold`: a maintenance hold on the client (waits for a running deploy first; never expires). */
export function holdMaintenance(
  options: Pick<AcquireOptions, 'runner' | 'log' | 'client' | 'runUrl' | 'actor' | 'waitMs' | 'message' | 'clock'>,
): Promise<HeldLock> {
  return acquireLock({ ...options, expiryMs: 0, kind: 'maintenance' });
}

/** Release a lock this run holds: removed by its ID, so a lock taken over by another run is never touched. */
export async function releaseLock(runner: CommandRunner, log: Log, lock: { id: string; name: string }): Promise<void> {
  try {
    const result = await runner.run(['docker', 'config', 'rm', lock.id], { allowFailure: true });
    if (result.code === 0) log.info(`Released ${lock.name}`);
    else log.debug(`lock ${lock.name} (${lock.id}) was already gone: ${result.stderr.trim()}`);
  } catch (error) {
    log.warning(`Could not release ${lock.name}: ${errorMessage(error)}; it expires by itself`);
  }
}

/** This run's lock expired and another run took it over (or it was removed): this run changes nothing more. */
export class FencedError extends LockError {}

/**
 * Fencing: called before each step that changes the stack (the stack deploy, the watch's rollback,
 * the release record, the pruning). The lock is read back (one command) and must still be the one
 * this run created, by its ID: a run whose lock expired and was taken over, or removed, stops there
 * with a FencedError instead of changing what the new holder now owns. A lock that cannot be read
 * stops the run too: the step would not be known to be safe.
 *
 * Given the clock the lock was taken by, a deploy lock taken less than half its expiry ago is not
 * read back: it expires at the earliest after its whole expiry (counted on the managers from its
 * creation, which came before `takenAt`), so no other run can hold it yet, and the read would cost
 * the step a round trip for nothing. Only a lock removed by hand (`docker config rm`) goes unseen
 * in that first half.
 */
export async function fence(runner: CommandRunner, lock: HeldLock, step: string, clock?: Clock): Promise<void> {
  const { ttlMs } = lock.holder;
  if (clock && lock.takenAt !== undefined && ttlMs !== undefined && clock.now() - lock.takenAt < ttlMs / 2) return;
  const current = await readLock(runner, lock.holder.client);
  if (current?.id === lock.id) return;
  throw new FencedError(
    `the deploy lock of ${lock.holder.client} is no longer this run's (${
      current ? `it expired and is now held by ${holderName(current.holder)}` : 'it was removed'
    }); stopped before ${step}, and nothing more was changed`,
    'lock',
  );
}

/** `lock: release` — end a maintenance hold (a running deploy's lock is never removed this way). */
export async function releaseMaintenance(runner: CommandRunner, log: Log, client: string): Promise<boolean> {
  const existing = await readLock(runner, client);
  if (!existing) {
    log.info(`${client} has no lock to release`);
    return false;
  }
  if (existing.holder.kind !== 'maintenance') {
    throw new LockError(
      `the lock of ${client} belongs to a running deploy, not a maintenance hold; it is released when that deploy ends`,
      'lock',
    );
  }
  await releaseLock(runner, log, existing);
  return true;
}

import type { ServiceInfo, TaskInfo } from '../../src/state/docker.js';
import type { CommandResult, CommandRunner, RunOptions, StreamHandle } from '../../src/core/exec.js';
import { checkResult } from '../../src/core/exec.js';

/** Manager time at which the deploy under test was sent. */
export const SENT_AT = Date.parse('2026-11-23T10:00:00.000Z');

export const iso = (ms: number): string => new Date(ms).toISOString();

export interface ServiceShape {
  id?: string;
  image?: string;
  replicas?: number;
  env?: string[];
  labels?: Record<string, string>;
  secrets?: string[];
  /** UpdateStatus; omitted for a service that never had an update. */
  update?: { state: string; startedAt?: number; completedAt?: number; message?: string };
}

export function service(name: string, shape: ServiceShape = {}): ServiceInfo {
  const info: ServiceInfo = {
    ID: shape.id ?? `id-${name}`,
    Version: { Index: 1 },
    CreatedAt: iso(SENT_AT - 3_600_000),
    UpdatedAt: iso(SENT_AT - 3_600_000),
    Spec: {
      Name: name,
      Labels: shape.labels ?? {},
      TaskTemplate: {
        ContainerSpec: {
          Image: shape.image ?? 'registry.example.com/shop/web:v1@sha256:' + 'a'.repeat(64),
          Env: shape.env ?? [],
          Secrets: (shape.secrets ?? []).map((SecretName) => ({ SecretName })),
        },
      },
      Mode: { Replicated: { Replicas: shape.replicas ?? 1 } },
    },
  };
  if (shape.update) {
    info.UpdateStatus = {
      State: shape.update.state,
      ...(shape.update.startedAt !== undefined ? { StartedAt: iso(shape.update.startedAt) } : {}),
      ...(shape.update.completedAt !== undefined ? { CompletedAt: iso(shape.update.completedAt) } : {}),
      ...(shape.update.message !== undefined ? { Message: shape.update.message } : {}),
    };
  }
  return info;
}

export interface TaskShape {
  id: string;
  serviceId: string;
  state: string;
  desired?: string;
  createdAt?: number;
  at?: number;
  err?: string;
  slot?: number;
  image?: string;
}

export function task(shape: TaskShape): TaskInfo {
  const created = shape.createdAt ?? SENT_AT + 1000;
  return {
    ID: shape.id,
    ServiceID: shape.serviceId,
    Slot: shape.slot ?? 1,
    CreatedAt: iso(created),
    UpdatedAt: iso(shape.at ?? created),
    DesiredState: shape.desired ?? 'running',
    Status: {
      Timestamp: iso(shape.at ?? created),
      State: shape.state,
      ...(shape.err !== undefined ? { Err: shape.err } : {}),
    },
    Spec: { ContainerSpec: { Image: shape.image ?? 'registry.example.com/shop/web:v2' } },
  };
}

export interface Frame {
  services: ServiceInfo[];
  tasks: TaskInfo[];
}

/**
 * A manager that answers the watch's commands from scripted frames: each `docker service inspect`
 * moves to the next frame (the last one repeats); `docker service update --rollback` switches to
 * the rollback script; any command it does not know throws, so a test cannot pass by running
 * something unplanned.
 */
export class FakeSwarm implements CommandRunner {
  readonly description = 'fake swarm';
  readonly commands: string[] = [];
  readonly rolledBack: string[] = [];
  readonly removed: string[] = [];
  streams: {
    argv: readonly string[];
    onLine: (line: string) => void;
    stopped: boolean;
    dropped: boolean;
    end: (result: CommandResult) => void;
  }[] = [];
  private script: Frame[];
  private index = -1;
  /** Called on each `docker service inspect`, after the frame moved on (emit events from here). */
  onInspect: ((inspects: number) => void) | undefined;
  private inspects = 0;

  constructor(
    frames: Frame[],
    private readonly rollbackFrames: Frame[] = [],
    private readonly logs: Record<string, string> = {},
  ) {
    this.script = frames;
  }

  private frame(): Frame {
    const frame = this.script[Math.min(Math.max(this.index, 0), this.script.length - 1)];
    if (!frame) throw new Error('no frame scripted');
    return frame;
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    this.commands.push(argv.join(' '));
    return checkResult(argv, this.answer(argv), options);
  }

  private answer(argv: readonly string[]): CommandResult {
    const ok = (stdout = ''): CommandResult => ({ code: 0, stdout, stderr: '' });
    const [docker, first, second] = argv;
    if (docker !== 'docker') throw new Error(`unexpected command: ${argv.join(' ')}`);
    if (first === 'service' && second === 'inspect') {
      this.index++;
      this.inspects++;
      this.onInspect?.(this.inspects);
      const names = argv.slice(3);
      return ok(JSON.stringify(this.frame().services.filter((s) => names.includes(s.Spec.Name))));
    }
    if (first === 'service' && second === 'ps') {
      const names = argv.filter((w) => !w.startsWith('-')).slice(3);
      const ids = new Set(
        this.frame()
          .services.filter((s) => names.includes(s.Spec.Name))
          .map((s) => s.ID),
      );
      return ok(
        this.frame()
          .tasks.filter((t) => ids.has(t.ServiceID))
          .map((t) => `${t.ID}\n`)
          .join(''),
      );
    }
    if (first === 'inspect' && second === '--type' && argv[3] === 'task') {
      const ids = argv.slice(4);
      return ok(JSON.stringify(this.frame().tasks.filter((t) => ids.includes(t.ID))));
    }
    if (first === 'service' && second === 'update' && argv.includes('--rollback')) {
      const name = argv[argv.length - 1] ?? '';
      this.rolledBack.push(name);
      if (this.rollbackFrames.length > 0 && this.script !== this.rollbackFrames) {
        this.script = this.rollbackFrames;
        this.index = -1;
      }
      return ok(name);
    }
    if (first === 'service' && second === 'rm') {
      this.removed.push(argv[3] ?? '');
      return ok(argv[3] ?? '');
    }
    if (first === 'service' && second === 'logs') {
      const id = argv[argv.length - 1] ?? '';
      return ok(this.logs[id] ?? '');
    }
    throw new Error(`unexpected command: ${argv.join(' ')}`);
  }

  stream(argv: readonly string[], onLine: (line: string) => void): StreamHandle {
    let end: (result: CommandResult) => void = () => undefined;
    const done = new Promise<CommandResult>((resolve) => (end = resolve));
    const entry = { argv, onLine, stopped: false, dropped: false, end };
    this.streams.push(entry);
    return {
      stop: () => {
        entry.stopped = true;
        end({ code: null, stdout: '', stderr: '' });
      },
      done,
    };
  }

  /** Emit one `docker events` line on every open stream. */
  emit(line: string): void {
    for (const s of this.streams) if (!s.stopped && !s.dropped) s.onLine(line);
  }

  /** The connection drops: every open stream ends with no exit code, as the SSH transport reports it. */
  drop(): void {
    for (const s of this.streams) {
      if (s.stopped || s.dropped) continue;
      s.dropped = true;
      s.end({ code: null, stdout: '', stderr: 'read ECONNRESET' });
    }
  }

  async close(): Promise<void> {}
}

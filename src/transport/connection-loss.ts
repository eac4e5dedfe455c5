/**
 * What a dropped SSH connection means for a command, decided without I/O: whether an error is the
 * transport failing (as opposed to the command or our code), whether the command can have reached
 * the manager, and whether it may simply be run again on a new connection.
 */
import { errorMessage, isNetworkError } from '../core/errors.js';
import type { RunOptions } from '../core/exec.js';

/**
 * Messages ssh2 and node-ssh give when the link, not the command, failed: a reset or closed socket,
 * a write to a socket that is no longer writable ("Not connected"), channels and requests still
 * pending when the socket closed ("No response from server"), a dead peer found by keepalives, a
 * channel the server would not open (too many sessions at once).
 */
const TRANSPORT =
  /Not connected|No response from server|Keepalive timeout|Channel open failure|Connection lost before handshake|socket hang up|This socket has been ended by the other party|write after end/i;

export function isTransportError(error: unknown): boolean {
  return isNetworkError(error) || TRANSPORT.test(errorMessage(error));
}

/**
 * Errors raised before the exec request left this machine: the socket was already unwritable, or
 * the server refused the session channel the command would have run in. Anything else (a reset
 * while the exec request or its stdin were in flight) may have started the command.
 */
const NEVER_SENT = /^(Not connected|\(SSH\) Channel open failure)/;

export function neverSent(error: unknown): boolean {
  return NEVER_SENT.test(errorMessage(error));
}

/** The server is up but would not open one more session now: wait and ask again on the same link. */
export function isChannelRefused(error: unknown): boolean {
  return /Channel open failure/i.test(errorMessage(error));
}

/**
 * Whether a command interrupted by a dropped connection may be run again after reconnecting. A
 * command without stdin is a read or an idempotent removal unless its caller says otherwise (a
 * `service update --rollback` run twice swaps back to the new spec); a command with stdin writes
 * something, and is repeated only when its caller declares the write idempotent.
 */
export function mayRepeat(options: RunOptions): boolean {
  return options.repeatable ?? options.stdin === undefined;
}

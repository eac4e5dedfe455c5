/**
 * The one audited function that turns an argv array into a command line for the remote shell.
 *
 * sshd hands the command string to the login shell (`sh -c` on the managers we support), so
 * every argument is wrapped in single quotes, inside which POSIX sh gives no character any
 * meaning; a single quote itself is closed, escaped and reopened ('\''). Newlines, `$()`,
 * backticks, `;`, `&&`, globs and spaces are therefore plain data. NUL cannot be passed through
 * an exec request at all, so it is refused rather than silently truncated.
 */
export function quoteArg(arg: string): string {
  if (arg.includes('\0')) throw new TypeError('a command argument contains a NUL byte');
  if (arg !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function commandLine(argv: readonly string[]): string {
  if (argv.length === 0) throw new TypeError('empty command');
  return argv.map(quoteArg).join(' ');
}

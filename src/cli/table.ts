/**
 * Plain-text tables and times for the operator commands' human output. Cell text can come from
 * the cluster (labels, task errors, actors), so control characters are replaced: a value must not
 * be able to move the cursor, recolour the terminal or forge a line of output.
 */

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]+/g;

/** One line of cluster text, safe to print. */
export function safeText(text: string): string {
  return text.replace(CONTROL, ' ').trim();
}

export function clipText(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, Math.max(0, max - 1))}…` : text;
}

/** Columns padded to the widest cell, two spaces apart, no trailing blanks; `-` for an empty cell. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const clean = rows.map((row) => headers.map((_h, i) => safeText(row[i] ?? '') || '-'));
  const widths = headers.map((header, i) => Math.max(header.length, ...clean.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), ...clean.map(line)].join('\n');
}

/** `2026-11-23 03:45:12Z` from an ISO time or epoch milliseconds; unreadable input as given. */
export function formatTime(time: string | number): string {
  const date = new Date(time);
  if (Number.isNaN(date.getTime()) || date.getTime() <= 0) return typeof time === 'string' ? safeText(time) : '-';
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

import type { Annotation, Log } from '../../src/core/log.js';

/** A log that records everything, for tests that assert what was (and was not) said. */
export class MemoryLog implements Log {
  readonly lines: string[] = [];
  readonly warnings: { message: string; annotation?: Annotation | undefined }[] = [];
  readonly errors: { message: string; annotation?: Annotation | undefined }[] = [];
  readonly summaries: string[] = [];
  readonly masked: string[] = [];

  info(m: string): void {
    this.lines.push(m);
  }
  debug(m: string): void {
    this.lines.push(`debug: ${m}`);
  }
  warning(m: string, a?: Annotation): void {
    this.warnings.push({ message: m, annotation: a });
    this.lines.push(`warning: ${m}`);
  }
  error(m: string, a?: Annotation): void {
    this.errors.push({ message: m, annotation: a });
    this.lines.push(`error: ${m}`);
  }
  async group<T>(name: string, fn: () => Promise<T>): Promise<T> {
    this.lines.push(`group: ${name}`);
    return fn();
  }
  async summary(markdown: string): Promise<void> {
    this.summaries.push(markdown);
  }
  mask(v: string): void {
    this.masked.push(v);
  }
  /** Everything written, one string, for leak scans. */
  text(): string {
    return [...this.lines, ...this.summaries].join('\n');
  }
}

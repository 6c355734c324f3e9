import { relative, isAbsolute } from 'node:path';

/** One problem found in a config file, with enough to find it: file, 1-based line (0 = unknown), field path. */
export interface ConfigIssue {
  readonly file: string;
  readonly line: number;
  /** Dotted field path inside the file ('' = the file as a whole). */
  readonly path: string;
  readonly message: string;
}

/** Shows a file relative to the working directory when it is below it: what an operator types. */
export function displayFile(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

/** `file:line: field: message`, the one line format of every config error (editors jump to it). */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line > 0 ? `${displayFile(issue.file)}:${issue.line}` : displayFile(issue.file);
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

/** Everything wrong with a configuration, collected (not just the first problem) so one `check` run shows it all. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super(`invalid configuration:\n${issues.map(formatIssue).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/**
 * Runs a script of spec/support in a child Node process (TypeScript through
 * ts-node, from source), for specs about what a whole process does: that it
 * survives, or that it exits by itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export interface Child {
  readonly process: ChildProcess;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Resolves with the first stdout line matching `pattern`. */
  line(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Resolves with the exit code (or signal) once the process ended, stderr included for failures. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

export function runChild(script: string, args: string[] = []): Child {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, script), ...args], {
    cwd: path.join(__dirname, '..', '..'),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiting = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    for (const wake of waiting) wake();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.once('exit', (code, signal) => {
      for (const wake of waiting) wake();
      resolve({ code, signal, stderr: err });
    }),
  );
  return {
    process: child,
    stdout: () => out,
    exited,
    line(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`no line matching ${pattern} within ${timeoutMs} ms; stderr: ${err}`)), timeoutMs);
        const check = (): void => {
          const match = out.split('\n').map((line) => pattern.exec(line)).find((m) => m !== null);
          if (match) finish(undefined, match);
          else if (child.exitCode !== null || child.signalCode !== null) finish(new Error(`child exited (${child.exitCode ?? child.signalCode}) before ${pattern}; stderr: ${err}`));
        };
        const finish = (error?: Error, match?: RegExpExecArray): void => {
          clearTimeout(timer);
          waiting.delete(check);
          if (error) reject(error);
          else resolve(match as RegExpExecArray);
        };
        waiting.add(check);
        check();
      });
    },
  };
}

/**
 * A package consumer for the README's examples: a directory inside the
 * repository's node_modules (so `express`, `ws` and `ioredis` resolve) whose
 * own node_modules links `sockjs-express` to the repository, type-checked as a
 * strict node16 project, so `exports` and the built `dist/` are what the
 * examples import.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pollUntil } from './poll';

export const root = path.resolve(__dirname, '..', '..');

/** The first `ts` code block of the README after `heading`. */
export function readmeTsBlock(heading: string): string {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const at = readme.indexOf(heading);
  if (at < 0) throw new Error(`README has no "${heading}"`);
  const match = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!match) throw new Error(`README has no ts block under "${heading}"`);
  return match[1];
}

export interface Consumer {
  readonly dir: string;
  /** Writes `source` as `file` and runs it with ts-node (type-checked), `env` added. */
  run(file: string, source: string, env?: Record<string, string>): ChildProcess;
  remove(): void;
}

export function makeConsumer(): Consumer {
  if (!existsSync(path.join(root, 'dist', 'index.js'))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
  }
  mkdirSync(path.join(root, 'node_modules', '.cache'), { recursive: true });
  const dir = mkdtempSync(path.join(root, 'node_modules', '.cache', 'readme-'));
  mkdirSync(path.join(dir, 'node_modules'));
  symlinkSync(root, path.join(dir, 'node_modules', 'sockjs-express'), 'dir');
  const compilerOptions = { module: 'node16', moduleResolution: 'node16', target: 'ES2022', strict: true, esModuleInterop: true, types: ['node'] };
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions }));
  return {
    dir,
    run(file, source, env = {}) {
      writeFileSync(path.join(dir, file), source);
      return spawn(process.execPath, [require.resolve('ts-node/dist/bin.js'), file], {
        cwd: dir,
        stdio: 'inherit',
        env: { ...process.env, ...env },
      });
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * GETs `url` until it answers (the example is up); rejects if `child` exits
 * first or after 90 s (ts-node type-checks the example before it runs, which
 * takes a while when several start at once on a busy machine).
 */
export function waitForGreeting(url: string, child: ChildProcess): Promise<string> {
  return pollUntil(
    `an answer from ${url}`,
    async () => {
      if (child.exitCode !== null) throw new Error(`example exited with ${child.exitCode}`);
      return fetch(url).then(
        (res) => res.text(),
        () => undefined,
      );
    },
    { timeoutMs: 90_000, intervalMs: 200 },
  );
}

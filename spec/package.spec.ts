/**
 * The package as npm would install it: `npm run build` (tsc with
 * tsconfig.build.json) written into a scratch `node_modules/sockjs-express`
 * next to a copy of package.json, then loaded by Node and type-checked by
 * tsc as a consumer would, through package.json `exports`. The repository's
 * own dist/ is left alone.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '..');
const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });

interface PackageJson {
  main?: string;
  types?: string;
  files?: string[];
  scripts?: Record<string, string>;
  exports?: unknown;
}

const pkg = require(path.join(root, 'package.json')) as PackageJson;

/** Runs a command to completion; returns its exit status and combined output. */
function run(command: string, args: string[], cwd: string): { status: number | null; output: string } {
  // Generous: tsc on a loaded 2-core machine, while other suites run, can take half a minute.
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 90_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}${result.error?.message ?? ''}` };
}

/** Every file path named in an `exports` value, however deeply its conditions nest. */
function exportTargets(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(exportTargets);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(exportTargets);
  return [];
}

let scratch: string;
let installed: string;
let build: { status: number | null; output: string };

beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'sockjs-express-package-'));
  installed = path.join(scratch, 'node_modules', 'sockjs-express');
  mkdirSync(installed, { recursive: true });
  copyFileSync(path.join(root, 'package.json'), path.join(installed, 'package.json'));
  // The build's own dependencies (express, ws, their types) come from the repository.
  symlinkSync(path.join(root, 'node_modules'), path.join(installed, 'node_modules'), 'dir');

  const shown = run(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--showConfig'], root);
  const outDir = (JSON.parse(shown.output) as { compilerOptions: { outDir: string } }).compilerOptions.outDir;
  build = run(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', path.join(installed, outDir)], root);
}, 30_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('package', () => {
  describe('npm run build', () => {
    it('is tsc with tsconfig.build.json, the command this spec reproduces', () => {
      expect(pkg.scripts?.build).toBe('tsc -p tsconfig.build.json');
    });

    it('compiles lib/ without errors', () => {
      expect(build).toEqual({ status: 0, output: '' });
    });
  });

  describe('package.json', () => {
    it('points every exports target, main and types at a file the build wrote', () => {
      const targets = [...exportTargets(pkg.exports), pkg.main, pkg.types];
      expect(targets).toEqual(expect.arrayContaining(['./dist/index.js', './dist/index.d.ts']));
      const missing = targets.filter((target) => !target || !existsSync(path.join(installed, target)));
      expect(missing).toEqual([]);
    });

    it('publishes the build output', () => {
      const entry = exportTargets(pkg.exports)[0];
      const topFolder = path.posix.normalize(entry).split('/')[0];
      expect(pkg.files).toContain(topFolder);
    });
  });

  describe('built module', () => {
    it('exports sockjs by name and as default to require()', () => {
      const script = [
        "const m = require('sockjs-express');",
        'const handler = m.sockjs({}, () => undefined);',
        'console.log(JSON.stringify({',
        '  named: typeof m.sockjs,',
        '  sameDefault: m.default === m.sockjs,',
        "  handler: typeof handler === 'function' && typeof handler.attach === 'function',",
        '  errors: typeof m.InvalidOptionError,',
        '}));',
      ].join('\n');
      const result = run(process.execPath, ['-e', script], scratch);
      expect(result.status).toBe(0);
      expect(JSON.parse(result.output)).toEqual({ named: 'function', sameDefault: true, handler: true, errors: 'function' });
    });

    it('exports at run time only what the README documents: no framing helpers', () => {
      const script = "console.log(JSON.stringify(Object.keys(require('sockjs-express')).filter((key) => key !== '__esModule').sort()))";
      const result = run(process.execPath, ['-e', script], scratch);
      expect(result.status).toBe(0);
      const names = JSON.parse(result.output) as string[];
      const errors = ['ClusterUnavailableError', 'HandlerClosedError', 'InvalidArgumentError', 'InvalidOptionError'];
      expect(names).toEqual([...errors, 'Session', 'SessionNotOpenError', 'SockJSError', 'TransportError', 'default', 'sockjs']);
      const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
      const api = readme.slice(readme.indexOf('\n## API\n'), readme.indexOf('\n## Security\n'));
      expect(names.filter((name) => name !== 'default' && !api.includes(`\`${name}\``))).toEqual([]);
    });

    it('gives an ES module the sockjs function from both the named and the default import', () => {
      const file = path.join(scratch, 'consumer.mjs');
      writeFileSync(
        file,
        [
          "import sockjs, { sockjs as named } from 'sockjs-express';",
          'console.log(JSON.stringify({ named: typeof named, default: typeof sockjs }));',
        ].join('\n'),
      );
      const result = run(process.execPath, [file], scratch);
      expect(result.status).toBe(0);
      expect(JSON.parse(result.output)).toEqual({ named: 'function', default: 'function' });
    });

    it('ships declarations that type the named and default export for a strict consumer, and keep sessions made by the handler', () => {
      expect(existsSync(path.join(installed, 'dist', 'index.d.ts'))).toBe(true);
      const file = path.join(scratch, 'consumer.ts');
      writeFileSync(
        file,
        [
          "import sockjs, { sockjs as named, Session, type Options, type SockJSHandler } from 'sockjs-express';",
          'const options: Options = { heartbeatDelay: 1000, transports: ["websocket"] };',
          'const a: SockJSHandler = sockjs(options);',
          'const b: SockJSHandler = named(options, (session: Session) => {',
          "  session.on('data', (message: string) => session.send(message));",
          '});',
          '// @ts-expect-error heartbeatDelay is a number, so the declarations are not `any`',
          "sockjs({ heartbeatDelay: 'slow' });",
          '// @ts-expect-error sessions come from the handler: the constructor is not public',
          'const made = new Session();',
          '// @ts-expect-error the methods the handler drives sessions with are not in the types',
          "const internal = (session: Session) => session.deliver(['x']);",
          'export { a, b, made, internal };',
        ].join('\n'),
      );
      const args = ['--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022'];
      args.push('--types', 'node', '--typeRoots', path.join(root, 'node_modules', '@types'), file);
      expect(run(process.execPath, [tsc, ...args], scratch)).toEqual({ status: 0, output: '' });
    }, 120_000);
  });
});

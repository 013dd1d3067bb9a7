/**
 * The package as npm publishes it: `npm pack` of a copy of the sources (so
 * its `prepack` script does the build), unpacked into the node_modules of
 * scratch applications outside the repository. Each application links only
 * what an application of its kind would have installed: the runtime
 * dependencies, its own `express` (5, or 4 through the `express4` alias),
 * `ioredis` 6, 5 (the `ioredis5` alias) or none, and `@types/node`. No
 * `@types/ws` or `@types/express`, so the declarations are checked as a
 * consumer without them sees them.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '..');
const rootModules = path.join(root, 'node_modules');
const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });

interface PackageJson {
  version: string;
  scripts?: Record<string, string>;
  repository?: { type: string; url: string };
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

interface Result {
  status: number | null;
  stdout: string;
  /** stdout and stderr. */
  output: string;
}

/** Runs a command to completion. The timeouts are generous: tsc on a loaded 2-core machine can take minutes. */
function run(command: string, args: string[], cwd: string, timeout = 240_000): Result {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout });
  return { status: result.status, stdout: result.stdout, output: `${result.stdout}${result.stderr}${result.error?.message ?? ''}` };
}

/** Writes `source` as `file` in `cwd`, runs it with Node and parses the JSON it prints. */
function node(cwd: string, file: string, source: string): unknown {
  writeFileSync(path.join(cwd, file), source);
  const result = run(process.execPath, [file], cwd, 60_000);
  if (result.status !== 0) throw new Error(`${file} exited with ${result.status}: ${result.output}`);
  return JSON.parse(result.stdout);
}

/** Whether `version` satisfies one of the `^x.y.z` clauses of `range` (the only form our peer ranges use). */
function caretSatisfies(range: string, version: string): boolean {
  const parse = (text: string): number[] => text.split('.').map(Number);
  const [major, minor, patch] = parse(version);
  return range.split('||').some((clause) => {
    const [lowMajor, lowMinor, lowPatch] = parse(clause.trim().replace(/^\^/, ''));
    return major === lowMajor && (minor > lowMinor || (minor === lowMinor && patch >= lowPatch));
  });
}

/** The version of a package in the repository's node_modules (aliases by their alias). */
const versionOf = (name: string): string => (require(path.join(rootModules, name, 'package.json')) as PackageJson).version;

let scratch: string;
/** What `npm pack --json` reports of the tarball. */
let packed: { filename: string; files: Array<{ path: string }> };
let manifest: PackageJson;
let express5: string;
let express4: string;
let noRedis: string;

/**
 * A scratch application with the tarball unpacked as its
 * node_modules/sockjs-express and `links` (a name in its node_modules to a
 * folder of the repository's node_modules).
 */
function application(name: string, links: Record<string, string>): string {
  const dir = path.join(scratch, name);
  const modules = path.join(dir, 'node_modules');
  mkdirSync(modules, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, private: true }));
  const unpacked = run('tar', ['-xzf', path.join(scratch, packed.filename), '-C', modules], dir);
  if (unpacked.status !== 0) throw new Error(unpacked.output);
  renameSync(path.join(modules, 'package'), path.join(modules, 'sockjs-express'));
  for (const [link, target] of Object.entries(links)) {
    mkdirSync(path.dirname(path.join(modules, link)), { recursive: true });
    symlinkSync(path.join(rootModules, target), path.join(modules, link), 'dir');
  }
  return dir;
}

beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'sockjs-express-package-'));
  // A checkout without dist/: what npm pack ships is what prepack built.
  const source = path.join(scratch, 'source');
  mkdirSync(source);
  for (const entry of ['package.json', 'README.md', 'tsconfig.json', 'tsconfig.build.json', 'lib']) {
    cpSync(path.join(root, entry), path.join(source, entry), { recursive: true });
  }
  symlinkSync(rootModules, path.join(source, 'node_modules'), 'dir');
  const pack = run('npm', ['pack', '--json', '--pack-destination', scratch], source, 360_000);
  if (pack.status !== 0) throw new Error(`npm pack failed: ${pack.output}`);
  // The JSON comes after what the build (prepack) printed.
  [packed] = JSON.parse(pack.stdout.slice(pack.stdout.search(/^\[/m))) as Array<typeof packed>;
  manifest = JSON.parse(readFileSync(path.join(source, 'package.json'), 'utf8')) as PackageJson;

  const runtime = { ws: 'ws', 'cookie-parser': 'cookie-parser', cors: 'cors', debug: 'debug', '@types/node': '@types/node' };
  express5 = application('express5', { ...runtime, express: 'express', ioredis: 'ioredis', 'prom-client': 'prom-client' });
  express4 = application('express4', { ...runtime, express: 'express4', ioredis: 'ioredis5' });
  noRedis = application('no-redis', { ...runtime, express: 'express' });
}, 420_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/**
 * A CommonJS application: an Express app with an echo handler on port 0,
 * then a greeting, an xhr-polling round trip and a websocket echo against it.
 * It reports which express the application and the handler loaded.
 */
const echoApplication = `
const express = require('express');
const path = require('node:path');
const WebSocket = require('ws');
const { sockjs } = require('sockjs-express');
const app = express();
const echo = sockjs({}, (session) => session.on('data', (message) => session.send(message)));
app.use('/echo', echo);
const server = app.listen(0, '127.0.0.1', async () => {
  echo.attach(server);
  const port = server.address().port;
  const base = 'http://127.0.0.1:' + port + '/echo';
  const handlerExpress = require.resolve('express/package.json', { paths: [path.dirname(require.resolve('sockjs-express'))] });
  const out = { appExpress: require('express/package.json').version, handlerExpress: require(handlerExpress).version };
  out.greeting = await (await fetch(base)).text();
  out.open = await (await fetch(base + '/000/abc/xhr', { method: 'POST' })).text();
  out.send = (await fetch(base + '/000/abc/xhr_send', { method: 'POST', body: '["x"]' })).status;
  out.poll = await (await fetch(base + '/000/abc/xhr', { method: 'POST' })).text();
  out.websocket = await new Promise((resolve, reject) => {
    const ws = new WebSocket('ws://127.0.0.1:' + port + '/echo/000/def/websocket');
    const frames = [];
    ws.on('error', reject);
    ws.on('message', (data) => {
      frames.push(String(data));
      if (frames.length === 1) ws.send('["hi"]');
      if (frames.length === 2) resolve(frames.slice());
    });
  });
  await echo.close();
  server.close(() => console.log(JSON.stringify(out)));
});
`;

/** A strict TypeScript consumer of the three entries, with checks that the types are not `any`. */
const consumer = `
import sockjs, { sockjs as named, Session, type Options, type SockJSHandler } from 'sockjs-express';
import { redisAdapter, type RedisAdapterOptions } from 'sockjs-express/redis';
import { collectMetrics } from 'sockjs-express/metrics';
import { Registry } from 'prom-client';
const redis: RedisAdapterOptions = { url: 'redis://127.0.0.1:6379', prefix: 'echo' };
const options: Options = { heartbeatDelay: 1000, transports: ['websocket'], websocketOptions: { perMessageDeflate: { threshold: 64 } } };
const a: SockJSHandler = sockjs(options);
const b: SockJSHandler = named({ adapter: redisAdapter(redis) }, (session: Session) => {
  session.on('data', (message: string) => session.send(message));
});
// @ts-expect-error heartbeatDelay is a number, so the declarations are not \`any\`
sockjs({ heartbeatDelay: 'slow' });
// @ts-expect-error websocketOptions is typed, not \`any\`
sockjs({ websocketOptions: { perMessageDeflate: 'yes' } });
// @ts-expect-error the Redis adapter's options are typed
redisAdapter({ prefix: 1 });
// @ts-expect-error sessions come from the handler: the constructor is not public
const made = new Session();
// @ts-expect-error the methods the handler drives sessions with are not in the types
const internal = (session: Session) => session.deliver(['x']);
const stop: () => void = collectMetrics(a, { registry: new Registry(), handler: 'a' });
// @ts-expect-error the metrics options are typed
collectMetrics(a, { registry: new Registry(), handler: 1 });
const openWebsockets: number = a.stats().sessions.open.websocket;
export { a, b, made, internal, stop, openWebsockets };
`;

/** tsc, strict and without skipLibCheck, on `files` written into the express5 application. */
function typecheck(files: string[], module: string, moduleResolution: string, extra: string[] = []): Result {
  for (const file of files) writeFileSync(path.join(express5, file), consumer);
  const args = ['--noEmit', '--strict', '--skipLibCheck', 'false', '--module', module, '--moduleResolution', moduleResolution];
  return run(process.execPath, [tsc, ...args, '--target', 'es2022', '--types', 'node', ...extra, ...files], express5);
}

describe('package', () => {
  describe('npm pack', () => {
    it('builds dist/ with the prepack script and ships only it, README.md and package.json', () => {
      const files = packed.files.map((file) => file.path).sort();
      expect(files.filter((file) => !file.startsWith('dist/'))).toEqual(['README.md', 'package.json']);
      for (const dir of ['', 'redis/', 'metrics/']) {
        for (const entry of ['index.js', 'index.mjs', 'index.d.ts', 'index.d.mts']) expect(files).toContain(`dist/${dir}${entry}`);
      }
      expect(files.filter((file) => /\.[cm]?ts$/.test(file) && !/\.d\.[cm]?ts$/.test(file))).toEqual([]);
    });

    it('ships source maps that carry their sources, since lib/ is not shipped', () => {
      const maps = packed.files.map((file) => file.path).filter((file) => file.endsWith('.map'));
      expect(maps.length).toBeGreaterThan(10);
      for (const map of maps) {
        const parsed = JSON.parse(readFileSync(path.join(express5, 'node_modules', 'sockjs-express', map), 'utf8')) as {
          sources: string[];
          sourcesContent?: unknown[];
        };
        expect([map, parsed.sourcesContent?.length]).toEqual([map, parsed.sources.length]);
        expect([map, parsed.sourcesContent?.every((content) => typeof content === 'string' && content.length > 0)]).toEqual([map, true]);
      }
    });

    it('runs no script when installed, and names its repository', () => {
      const shipped = JSON.parse(readFileSync(path.join(express5, 'node_modules', 'sockjs-express', 'package.json'), 'utf8')) as PackageJson;
      for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) {
        expect([hook, shipped.scripts?.[hook]]).toEqual([hook, undefined]);
      }
      expect(shipped.repository).toEqual({ type: 'git', url: expect.stringMatching(/^git\+https:\/\/.+\.git$/) });
    });
  });

  describe('peer dependencies', () => {
    it('takes express from the application, in a range that holds both majors the specs run on', () => {
      expect(manifest.dependencies?.express).toBeUndefined();
      const range = manifest.peerDependencies?.express ?? '';
      for (const alias of ['express', 'express4']) {
        expect([alias, versionOf(alias), caretSatisfies(range, versionOf(alias))]).toEqual([alias, versionOf(alias), true]);
      }
      expect(versionOf('express4')).toMatch(/^4\./);
      expect(versionOf('express')).toMatch(/^5\./);
    });

    it('takes ioredis 5 or 6, optionally', () => {
      const range = manifest.peerDependencies?.ioredis ?? '';
      for (const alias of ['ioredis', 'ioredis5']) {
        expect([alias, versionOf(alias), caretSatisfies(range, versionOf(alias))]).toEqual([alias, versionOf(alias), true]);
      }
      expect(versionOf('ioredis5')).toMatch(/^5\./);
      expect(versionOf('ioredis')).toMatch(/^6\./);
      expect(manifest.peerDependenciesMeta?.ioredis?.optional).toBe(true);
    });

    it('takes prom-client 15, optionally', () => {
      expect(caretSatisfies(manifest.peerDependencies?.['prom-client'] ?? '', versionOf('prom-client'))).toBe(true);
      expect(versionOf('prom-client')).toMatch(/^15\./);
      expect(manifest.peerDependenciesMeta?.['prom-client']?.optional).toBe(true);
    });
  });

  describe('in an application', () => {
    it.each([
      ['Express 5', () => express5, '5'],
      ['Express 4', () => express4, '4'],
    ])('serves HTTP and websocket sessions in an %s application, on its express', (_name, dir, major) => {
      const out = node(dir(), 'echo.js', echoApplication) as Record<string, unknown>;
      expect(out).toEqual({
        appExpress: expect.stringMatching(new RegExp(`^${major}\\.`)),
        handlerExpress: out.appExpress,
        greeting: 'Welcome to SockJS!\n',
        open: 'o\n',
        send: 204,
        poll: 'a["x"]\n',
        websocket: ['o', 'a["hi"]'],
      });
    });

    it('gives require() and import the same names, without __esModule, and sockjs as default', () => {
      const script = `
import { createRequire } from 'node:module';
import * as main from 'sockjs-express';
import * as redis from 'sockjs-express/redis';
import * as metrics from 'sockjs-express/metrics';
const require = createRequire(import.meta.url);
const names = (m) => Object.keys(m).sort();
console.log(JSON.stringify({
  esm: names(main), cjs: names(require('sockjs-express')),
  esmRedis: names(redis), cjsRedis: names(require('sockjs-express/redis')),
  esmMetrics: names(metrics), cjsMetrics: names(require('sockjs-express/metrics')),
  default: main.default === main.sockjs && main.sockjs === require('sockjs-express').sockjs,
}));
`;
      const out = node(express5, 'names.mjs', script) as Record<'esm' | 'cjs' | 'esmRedis' | 'cjsRedis' | 'esmMetrics' | 'cjsMetrics', string[]> & {
        default: boolean;
      };
      expect(out.esm).not.toContain('__esModule');
      expect(out.esm).toContain('default');
      expect(out.esm).toEqual(out.cjs);
      expect(out.esmRedis).toEqual(['redisAdapter']);
      expect(out.cjsRedis).toEqual(['redisAdapter']);
      expect(out.esmMetrics).toEqual(['KNOWN_CLOSE_CODES', 'collectMetrics']);
      expect(out.cjsMetrics).toEqual(['KNOWN_CLOSE_CODES', 'collectMetrics']);
      expect(out.default).toBe(true);
    });

    it('exports at run time only what the README documents: no framing helpers, no mutable defaults', () => {
      const names = node(express5, 'exports.js', "console.log(JSON.stringify(Object.keys(require('sockjs-express'))));") as string[];
      for (const internal of ['closeFrame', 'messageFrame', 'quote', 'DEFAULTS', 'TRANSPORT_NAMES']) expect(names).not.toContain(internal);
      const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
      const api = readme.slice(readme.indexOf('\n## API\n'), readme.indexOf('\n## Security\n'));
      expect(names.filter((name) => name !== 'default' && !api.includes(`\`${name}\``))).toEqual([]);
    });

    it.each([
      ['ioredis 6', () => express5],
      ['ioredis 5', () => express4],
    ])('loads sockjs-express/redis on %s', (_name, dir) => {
      expect(node(dir(), 'redis.js', "console.log(JSON.stringify(typeof require('sockjs-express/redis').redisAdapter));")).toBe('function');
    });

    it('says to install ioredis or prom-client when sockjs-express/redis or /metrics is required or imported without it', () => {
      const message = 'sockjs-express/redis needs ioredis, an optional peer dependency: npm install ioredis';
      const required = node(
        noRedis,
        'no-redis.js',
        "try { require('sockjs-express/redis'); } catch (error) { console.log(JSON.stringify({ code: error.code, message: error.message })); }",
      );
      expect(required).toEqual({ code: 'MODULE_NOT_FOUND', message });

      writeFileSync(path.join(noRedis, 'no-redis.mjs'), "import { redisAdapter } from 'sockjs-express/redis';\nconsole.log(typeof redisAdapter);\n");
      const imported = run(process.execPath, ['no-redis.mjs'], noRedis);
      expect(imported.status).toBe(1);
      expect(imported.output).toContain(`Error: ${message}`);

      const noPromClient = node(
        noRedis,
        'no-prom-client.js',
        "try { require('sockjs-express/metrics'); } catch (error) { console.log(JSON.stringify({ code: error.code, message: error.message })); }",
      );
      expect(noPromClient).toEqual({
        code: 'MODULE_NOT_FOUND',
        message: 'sockjs-express/metrics needs prom-client, an optional peer dependency: npm install prom-client',
      });

      // Without ioredis the main entry still loads.
      expect(node(noRedis, 'main.js', "console.log(JSON.stringify(typeof require('sockjs-express').sockjs));")).toBe('function');
    });
  });

  describe('declarations', () => {
    it.each([
      ['node10', 'commonjs', 'node10.ts'],
      ['bundler', 'esnext', 'bundler.ts'],
    ])('type-check a strict consumer under moduleResolution %s, skipLibCheck off, without @types/ws', (resolution, module, file) => {
      expect(typecheck([file], module, resolution)).toMatchObject({ status: 0, output: '' });
    }, 250_000);

    it('type-check CommonJS and ES module consumers under node16, the ES one against the .d.mts declarations', () => {
      const checked = typecheck(['node16.cts', 'node16.mts'], 'node16', 'node16', ['--traceResolution']);
      expect(checked.output).not.toMatch(/error TS/);
      expect(checked.status).toBe(0);
      const resolved = (file: string, name: string): string | undefined =>
        new RegExp(`======== Resolving module '${name}' from '[^']*/${file}'\\. ========[\\s\\S]*?successfully resolved to '[^']*/node_modules/sockjs-express/([^']+)'`).exec(
          checked.output,
        )?.[1];
      expect(resolved('node16.mts', 'sockjs-express')).toBe('dist/index.d.mts');
      expect(resolved('node16.mts', 'sockjs-express/redis')).toBe('dist/redis/index.d.mts');
      expect(resolved('node16.cts', 'sockjs-express')).toBe('dist/index.d.ts');
      expect(resolved('node16.cts', 'sockjs-express/redis')).toBe('dist/redis/index.d.ts');
    }, 250_000);
  });
});

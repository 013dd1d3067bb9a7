/**
 * The README's usage example, run as written from a separate directory that
 * imports `sockjs-express` as a package (through package.json `exports`, the
 * built `dist/` and its declarations, type-checked), only with a free port in
 * place of 8081.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';

const root = path.resolve(__dirname, '..');

function usageExample(): string {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const usage = readme.slice(readme.indexOf('## Usage'));
  const match = /```ts\n([\s\S]*?)```/.exec(usage);
  if (!match) throw new Error('README has no ts block under "## Usage"');
  return match[1];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

async function waitForGreeting(url: string, child: ChildProcess): Promise<string> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`example exited with ${child.exitCode}`);
    try {
      const res = await fetch(url);
      return await res.text();
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  throw new Error('example did not start');
}

describe('README usage example', () => {
  let dir: string;
  let child: ChildProcess | undefined;

  beforeAll(() => {
    if (!existsSync(path.join(root, 'dist', 'index.js'))) {
      throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
    }
    // Inside the repository so `express` and `ws` resolve from its node_modules.
    mkdirSync(path.join(root, 'node_modules', '.cache'), { recursive: true });
    dir = mkdtempSync(path.join(root, 'node_modules', '.cache', 'readme-'));
    mkdirSync(path.join(dir, 'node_modules'));
    symlinkSync(root, path.join(dir, 'node_modules', 'sockjs-express'), 'dir');
    // A consumer's strict setup with Node's own resolution, so `exports` and the
    // published declarations are what the example is type-checked against.
    const compilerOptions = { module: 'node16', moduleResolution: 'node16', target: 'ES2022', strict: true, esModuleInterop: true, types: ['node'] };
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions }));
  });

  afterEach(() => {
    child?.kill();
    child = undefined;
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves SockJS over HTTP and websocket when run as written', async () => {
    const port = await freePort();
    const source = usageExample().replace('8081', String(port));
    expect(source).toContain("from 'sockjs-express'");
    writeFileSync(path.join(dir, 'example.ts'), source);
    child = spawn(process.execPath, [require.resolve('ts-node/dist/bin.js'), 'example.ts'], {
      cwd: dir,
      stdio: 'inherit',
    });

    expect(await waitForGreeting(`http://127.0.0.1:${port}/echo`, child)).toBe('Welcome to SockJS!\n');

    const ws = new WebSocket(`ws://127.0.0.1:${port}/echo/000/readme/websocket`);
    const frames: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.on('error', reject);
      ws.on('message', (data) => {
        frames.push(data.toString());
        if (frames.length === 1) ws.send('["hi"]');
        if (frames.length === 2) resolve();
      });
    });
    ws.close();
    expect(frames).toEqual(['o', 'a["hi"]']);
  });
});

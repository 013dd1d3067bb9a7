/**
 * Unit specs for lib/options.ts and the option checks of `sockjs()`: the
 * defaults, and a TypeError naming the option for every bad value.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { sockjs, type SessionHandler } from '../lib';
import { setJsessionidCookie } from '../lib/binding';
import { InvalidArgumentError, InvalidOptionError, SockJSError } from '../lib/errors';
import { TRANSPORT_NAMES, resolveOptions, type Options, type ResolvedOptions } from '../lib/options';

/** Calls `resolveOptions` with a value the type system would refuse. */
function resolveUnchecked(options: unknown) {
  return resolveOptions(options as Options);
}

/** The error `fn` throws (fails the test when it throws nothing). */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw, got none');
}

describe('options', () => {
  describe('#resolveOptions', () => {
    it('applies the documented defaults when given nothing', () => {
      const resolved = resolveOptions();
      expect(resolved).toEqual({
        context: undefined,
        root: false,
        rawWebsocket: false,
        jsessionid: false,
        sockjsUrl: 'https://cdn.jsdelivr.net/npm/sockjs-client@1/dist/sockjs.min.js',
        heartbeatDelay: 25_000,
        disconnectDelay: 5_000,
        responseLimit: 131_072,
        maxMessageSize: 1_048_576,
        maxQueuedBytes: 4_194_304,
        highWaterMark: 65_536,
        websocketOptions: {},
        websocketPingInterval: 25_000,
        websocketPingTimeout: 10_000,
        websocketWriteTimeout: 0,
        origin: '',
        allowedOrigins: undefined,
        sessionBinding: false,
        middleware: 'session-open',
        transports: new Set(TRANSPORT_NAMES),
      });
    });

    it("states in the README's options table the default each option resolves to", () => {
      const readme = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
      const table = readme.slice(readme.indexOf('### Options'), readme.indexOf('## Security'));
      const documented = new Map([...table.matchAll(/^\| `(\w+)` \| ([^|]+) \|/gm)].map((row) => [row[1], row[2].trim()]));
      const resolved: ResolvedOptions = resolveOptions();
      const shown = (value: unknown): string =>
        typeof value === 'number' || typeof value === 'boolean' ? `\`${value}\`` : typeof value === 'string' ? `\`'${value}'\`` : JSON.stringify(value);
      const scalars = Object.entries(resolved).filter(([, value]) => ['number', 'boolean', 'string'].includes(typeof value));
      expect(scalars.length).toBeGreaterThan(10);
      for (const [name, value] of scalars) {
        // sockjsUrl is a URL, shown bare.
        const expected = name === 'sockjsUrl' ? `\`${String(value)}\`` : shown(value);
        expect([name, documented.get(name)]).toEqual([name, expected]);
      }
      expect(documented.get('transports')).toBe('all six');
      expect(resolved.transports.size).toBe(6);
      expect([...documented.keys()].sort()).toEqual([...Object.keys(resolved)].sort());
    });

    it('lists every transport sockjs-client knows, websocket first', () => {
      expect(TRANSPORT_NAMES).toEqual([
        'websocket',
        'xhr-streaming',
        'xhr-polling',
        'eventsource',
        'htmlfile',
        'jsonp-polling',
      ]);
    });

    it('keeps the values it is given', () => {
      const allowedOrigins = (): boolean => true;
      const given = {
        heartbeatDelay: 10,
        disconnectDelay: 20,
        responseLimit: 4096,
        maxMessageSize: 64,
        maxQueuedBytes: 1000,
        highWaterMark: 0,
        websocketPingInterval: 0,
        websocketPingTimeout: 7,
        sessionBinding: 'cookie' as const,
        websocketWriteTimeout: 5,
        rawWebsocket: true,
        sockjsUrl: '/sockjs.js',
        origin: 'https://example.com',
        allowedOrigins,
        websocketOptions: { perMessageDeflate: false },
      };
      const resolved = resolveOptions({ ...given, transports: ['xhr-polling', 'websocket'] });
      expect(resolved).toMatchObject(given);
      expect([...resolved.transports].sort()).toEqual(['websocket', 'xhr-polling']);
    });

    it('treats an option set to undefined as not given', () => {
      expect(resolveOptions({ heartbeatDelay: undefined, sockjsUrl: undefined })).toMatchObject({
        heartbeatDelay: 25_000,
        sockjsUrl: 'https://cdn.jsdelivr.net/npm/sockjs-client@1/dist/sockjs.min.js',
      });
    });

    it('does not mutate the options object it is given', () => {
      const options: Options = { transports: ['websocket', 'xhr-polling'], allowedOrigins: ['https://a.example'] };
      const copy = structuredClone(options);
      resolveOptions(options);
      expect(options).toEqual(copy);
    });

    it('turns jsessionid: true into the cookie setter and keeps a function as given', () => {
      expect(resolveOptions({ jsessionid: true }).jsessionid).toBe(setJsessionidCookie);
      const custom = (_req: IncomingMessage, _res: ServerResponse): void => undefined;
      expect(resolveOptions({ jsessionid: custom }).jsessionid).toBe(custom);
      expect(resolveOptions({ jsessionid: false }).jsessionid).toBe(false);
    });

    it.each(['/sockjs.min.js', 'http://cdn.example/sockjs.js', 'HTTPS://CDN.EXAMPLE/s.js'])(
      'accepts the sockjsUrl %s',
      (url) => {
        expect(resolveOptions({ sockjsUrl: url }).sockjsUrl).toBe(url);
      },
    );

    it('turns an origin list into a policy: exact origins, wildcard labels and ports, case-insensitive', () => {
      const policy = resolveOptions({
        allowedOrigins: ['https://a.example', 'https://*.example.com', 'http://localhost:*', 'null'],
      }).allowedOrigins;
      if (!policy) throw new Error('expected a policy');
      const req = {} as IncomingMessage;
      for (const origin of ['https://a.example', 'HTTPS://A.example', 'https://x.example.com', 'https://x.y.example.com', 'http://localhost', 'http://localhost:3000', 'null']) {
        expect([origin, policy(origin, req)]).toEqual([origin, true]);
      }
      for (const origin of ['https://b.a.example', 'https://example.com', 'https://evilexample.com', 'http://x.example.com', 'https://x.example.com:8443', 'http://localhost.evil', 'https://a.example.evil']) {
        expect([origin, policy(origin, req)]).toEqual([origin, false]);
      }
    });

    it('keeps a policy function as given', () => {
      const policy = (origin: string): boolean => origin.endsWith('.test');
      expect(resolveOptions({ allowedOrigins: policy }).allowedOrigins).toBe(policy);
    });

    it('accepts a websocketWriteTimeout of 0 (never time out)', () => {
      expect(resolveOptions({ websocketWriteTimeout: 0 }).websocketWriteTimeout).toBe(0);
    });

    const invalid: Array<[string, string, unknown]> = [
      ['rawWebsocket', 'is not a boolean', { rawWebsocket: 1 }],
      ['jsessionid', 'is neither a boolean nor a function', { jsessionid: 'JSESSIONID' }],
      ['heartbeatDelay', 'is zero', { heartbeatDelay: 0 }],
      ['heartbeatDelay', 'is negative', { heartbeatDelay: -1 }],
      ['heartbeatDelay', 'is not an integer', { heartbeatDelay: 1.5 }],
      ['heartbeatDelay', 'is a numeric string', { heartbeatDelay: '1000' }],
      ['heartbeatDelay', 'is NaN', { heartbeatDelay: NaN }],
      ['heartbeatDelay', 'is past the largest timer', { heartbeatDelay: 2 ** 31 }],
      ['disconnectDelay', 'is zero', { disconnectDelay: 0 }],
      ['disconnectDelay', 'is negative', { disconnectDelay: -5000 }],
      ['disconnectDelay', 'is Infinity', { disconnectDelay: Infinity }],
      ['responseLimit', 'is zero', { responseLimit: 0 }],
      ['responseLimit', 'is not an integer', { responseLimit: 10.5 }],
      ['maxMessageSize', 'is zero', { maxMessageSize: 0 }],
      ['maxMessageSize', 'is negative', { maxMessageSize: -1 }],
      ['websocketWriteTimeout', 'is negative', { websocketWriteTimeout: -1 }],
      ['websocketWriteTimeout', 'is not a number', { websocketWriteTimeout: '5s' }],
      ['sockjsUrl', 'is not a string', { sockjsUrl: 42 }],
      ['sockjsUrl', 'holds a double quote', { sockjsUrl: 'http://cdn.example/"onload="x' }],
      ['sockjsUrl', 'holds a single quote', { sockjsUrl: "http://cdn.example/'onload='x" }],
      ['sockjsUrl', 'holds an angle bracket', { sockjsUrl: 'http://cdn.example/<script>' }],
      ['sockjsUrl', 'holds a space', { sockjsUrl: 'http://cdn.example/a b.js' }],
      ['sockjsUrl', 'is a javascript: URL', { sockjsUrl: 'javascript:alert(1)' }],
      ['sockjsUrl', 'is an ftp URL', { sockjsUrl: 'ftp://cdn.example/sockjs.js' }],
      ['sockjsUrl', 'is a relative path', { sockjsUrl: 'sockjs.js' }],
      ['origin', 'is not a string', { origin: 5 }],
      ['origin', 'holds a line break', { origin: 'https://a.example\r\nX-Evil: 1' }],
      ['checkOrigin', 'is an unknown option (allowedOrigins replaced it)', { checkOrigin: () => true }],
      ['allowedOrigins', 'is true', { allowedOrigins: true }],
      ['allowedOrigins', 'is a single origin, not a list', { allowedOrigins: 'https://a.example' }],
      ['allowedOrigins', 'lists a URL with a path', { allowedOrigins: ['https://a.example/'] }],
      ['allowedOrigins', 'lists a bare host', { allowedOrigins: ['a.example'] }],
      ['allowedOrigins', 'lists a wildcard inside a label', { allowedOrigins: ['https://a*.example'] }],
      ['allowedOrigins', 'lists a non-string', { allowedOrigins: [1] }],
      ['maxQueuedBytes', 'is zero', { maxQueuedBytes: 0 }],
      ['maxQueuedBytes', 'is not an integer', { maxQueuedBytes: 1.5 }],
      ['highWaterMark', 'is negative', { highWaterMark: -1 }],
      ['highWaterMark', 'is over maxQueuedBytes', { highWaterMark: 11, maxQueuedBytes: 10 }],
      ['websocketPingInterval', 'is negative', { websocketPingInterval: -1 }],
      ['websocketPingTimeout', 'is zero', { websocketPingTimeout: 0 }],
      ['sessionBinding', 'is true', { sessionBinding: true }],
      ['sessionBinding', 'names an unknown binding', { sessionBinding: 'ip' }],
      ['middleware', 'is a boolean', { middleware: true }],
      ['middleware', 'names an unknown mode', { middleware: 'every' }],
      ['transports', 'is not an array', { transports: 'websocket' }],
      ['transports', 'names an unknown transport', { transports: ['websocket', 'long-polling'] }],
      ['transports', 'holds a non-string', { transports: [1] }],
      ['websocketOptions', 'is not an object', { websocketOptions: 'deflate' }],
      ['websocketOptions', 'is null', { websocketOptions: null }],
      ['websocketOptions', 'is an array', { websocketOptions: [] }],
      ['websocketOptions', 'sets noServer', { websocketOptions: { noServer: false } }],
      ['websocketOptions', 'sets maxPayload', { websocketOptions: { maxPayload: 10 } }],
      ['websocketOptions', 'sets server', { websocketOptions: { server: {} } }],
      ['websocketOptions', 'sets port', { websocketOptions: { port: 8080 } }],
      ['websocketOptions', 'sets path', { websocketOptions: { path: '/ws' } }],
      ['websocketOptions', 'sets clientTracking', { websocketOptions: { clientTracking: true } }],
      ['websocketOptions', 'sets an option sockjs-express does not hand to ws', { websocketOptions: { verifyClient: () => true } }],
      ['transports', 'is empty', { transports: [] }],
      ['websocket', 'is given (transports says it)', { websocket: false }],
      ['heartbeat', 'is an unknown option', { heartbeat: 1000 }],
      ['prefix', 'is an unknown option (sockjs-node 0.3 style)', { prefix: '/echo' }],
    ];

    it.each(invalid)('refuses %s when it %s', (name, _why, options) => {
      const error = thrownBy(() => resolveUnchecked(options));
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect(error).toBeInstanceOf(SockJSError);
      expect(error).toMatchObject({ code: 'SOCKJS_ERR_INVALID_OPTION', name: 'InvalidOptionError' });
      expect((error as Error).message).toContain(`"${name}"`);
    });

    it('names the ws option it refuses and the ones it accepts', () => {
      expect(() => resolveUnchecked({ websocketOptions: { noServer: true } })).toThrow(/"noServer"/);
      expect(() => resolveUnchecked({ websocketOptions: { maxPayload: 1 } })).toThrow(/"maxPayload"/);
      expect(() => resolveUnchecked({ websocketOptions: { maxPayload: 1 } })).toThrow(/only perMessageDeflate, handleProtocols/);
    });

    it('refuses an empty transports list, which no client could use', () => {
      expect(() => resolveOptions({ transports: [] })).toThrow('sockjs: option "transports" must be a list of at least one of websocket,');
    });

    it.each([
      ['heartbeat_delay', 25_000, 'use "heartbeatDelay"'],
      ['disconnect_delay', 5_000, 'use "disconnectDelay"'],
      ['response_limit', 128 * 1024, 'use "responseLimit"'],
      ['sockjs_url', '/sockjs.js', 'use "sockjsUrl"'],
      ['prefix', '/echo', "mount the handler at its path instead: app.use('/echo', sockjs(...))"],
      ['log', () => undefined, 'run with DEBUG=sockjs:*'],
      ['websocket', false, "leave 'websocket' out of transports"],
      ['faye_server_options', {}, 'use websocketOptions'],
      ['disable_cors', true, 'allowedOrigins chooses which pages may connect'],
    ])('refuses the sockjs-node option %s and says what to use instead', (name, value, hint) => {
      const error = thrownBy(() => resolveUnchecked({ [name]: value }));
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect((error as Error).message).toContain(`sockjs: unknown option "${name}": `);
      expect((error as Error).message).toContain(hint);
    });

    it('gives no hint for a name it cannot place', () => {
      expect(() => resolveUnchecked({ heartbeat: 1 })).toThrow(/^sockjs: unknown option "heartbeat"$/);
    });

    it.each([null, 'fast', 7])('refuses options that are not an object (%p)', (options) => {
      const error = thrownBy(() => resolveUnchecked(options));
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect(error).toMatchObject({ code: 'SOCKJS_ERR_INVALID_OPTION' });
    });
  });

  describe('#sockjs', () => {
    it('refuses a session callback that is not a function', () => {
      const callback = 'on connection' as unknown as SessionHandler;
      expect(() => sockjs({}, callback)).toThrow(InvalidArgumentError);
      expect(() => sockjs({}, callback)).toThrow(/callback/);
    });

    it('refuses invalid options before building anything', () => {
      const error = thrownBy(() => sockjs({ heartbeatDelay: -1 }));
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect((error as Error).message).toContain('"heartbeatDelay"');
    });

    it('takes the session callback as its only argument and uses the defaults', () => {
      const callback: SessionHandler = () => undefined;
      const handler = sockjs(callback);
      expect(handler.listeners('connection')).toEqual([callback]);
      expect(handler.options.heartbeatDelay).toBe(25_000);
    });

    it('exposes the resolved options on the handler', () => {
      const handler = sockjs({ transports: ['xhr-polling'], disconnectDelay: 100 });
      expect(handler.options.disconnectDelay).toBe(100);
      expect(handler.options.transports.has('websocket')).toBe(false);
    });
  });
});

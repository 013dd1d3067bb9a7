/**
 * Authentication in front of the handler, with the real express-session and
 * express-rate-limit, against sockjs-client in Chromium over all nine of its
 * transports: a logged-out page gets no session on any of them, a logged-in
 * one gets every one and the session knows the user, the rate limit counts
 * websocket handshakes, and with `allowedOrigins` set a page on another origin
 * cannot drive an authenticated session through any transport, the iframe
 * ones included, although the browser sends it the user's cookie; nor by
 * framing the iframe page and driving it itself, which works without the option.
 */
import express from 'express';
import session from 'express-session';
import { rateLimit } from 'express-rate-limit';
import type { Browser, BrowserContext } from 'playwright-core';
import { sockjs, type SockJSHandler } from '../lib';
import { listen, type Running } from './helpers';
import { CLIENT_TRANSPORTS, describeWithChromium, launchChromium } from './support/chromium';
import { pageApp, run } from './support/run-page';

declare module 'express-session' {
  interface SessionData {
    user: string;
  }
}

const TRANSPORTS = CLIENT_TRANSPORTS;

/**
 * What a hostile page can do with the iframe page when it may frame it: the
 * iframe page runs sockjs-client on the server's origin and obeys whoever
 * framed it, so the framing page picks a transport and reads the frames.
 */
const ATTACK = `<!DOCTYPE html><html><body><script>
window.attack = (base, sessionUrl, transport) => new Promise((resolve) => {
  const frame = document.createElement('iframe');
  frame.src = base + '/iframe.html#w1';
  const got = [];
  const timer = setTimeout(() => resolve('nothing' + (got.length ? ':' + got.join(',') : '')), 8000);
  window.addEventListener('message', (e) => {
    if (e.source !== frame.contentWindow) return;
    let m;
    try { m = JSON.parse(e.data); } catch (error) { return; }
    if (m.type === 's') {
      const start = JSON.stringify(['1.6.1', transport, sessionUrl, base]);
      frame.contentWindow.postMessage(JSON.stringify({ windowId: 'w1', type: 's', data: start }), '*');
    }
    if (m.type === 't') {
      got.push(m.data);
      if (m.data.startsWith('a')) { clearTimeout(timer); resolve('driven:' + got.join(',')); }
    }
  });
  document.body.appendChild(frame);
});
</script></body></html>`;

type Attack = (base: string, sessionUrl: string, transport: string) => Promise<string>;

type Who = { user: string | undefined };

/** A chat handler whose sessions say who they are for (by default, the cookie session's user), then echo. */
function chat(
  options: { allowedOrigins?: string[] },
  who = (req: express.Request, _res: express.Response): Who => ({ user: req.session.user }),
): SockJSHandler<Who> {
  return sockjs(
    {
      ...options,
      sockjsUrl: '/sockjs.js',
      context: (req, res) => who(req as express.Request, res as express.Response),
    },
    (session) => {
      session.send(`user:${session.context.user ?? 'nobody'}`);
      session.on('data', (message) => session.send(message));
    },
  );
}

describeWithChromium('authentication middleware in Chromium with sockjs-client', () => {
  let browser: Browser;
  let server: Running;
  let foreign: Running;
  let limiter: ReturnType<typeof rateLimit>;
  /** Sessions each handler opened, with their user. */
  const opened: string[] = [];

  beforeAll(async () => {
    const app = pageApp();
    app.use(session({ secret: 'spec secret', resave: false, saveUninitialized: false }));
    app.get('/login', (req, res) => {
      req.session.user = String(req.query.name);
      res.type('text').send('logged in');
    });
    const requireLogin: express.RequestHandler = (req, res, next) => {
      if (req.session.user !== undefined) return next();
      res.status(401).type('text').send('Log in first.');
    };
    // A window longer than the spec, so the count never resets while it runs.
    limiter = rateLimit({ windowMs: 3_600_000, limit: 10_000, standardHeaders: 'draft-7', legacyHeaders: false });
    // An origin nobody uses: the guarded handler admits only the server's own pages.
    const guarded = chat({ allowedOrigins: ['https://chat.example'] });
    const open = chat({});
    // The README's bearer token recipe: a header, or the query string sockjs-client keeps on every request.
    const tokens = chat({}, (_req, res) => ({ user: String(res.locals.user) }));
    const requireToken: express.RequestHandler = (req, res, next) => {
      const token = req.get('authorization')?.replace(/^Bearer /, '') ?? req.query.token;
      if (token !== 'token-of-bo') return res.status(401).send('Bad token.');
      res.locals.user = 'bo';
      next();
    };
    for (const [name, handler] of [['guarded', guarded], ['open', open], ['token', tokens]] as const) {
      handler.on('connection', (s) => opened.push(`${name}:${s.context.user}`));
    }
    server = await listen({}, app);
    app.use('/chat', limiter, requireLogin, guarded);
    app.use('/open', requireLogin, open);
    app.use('/token', requireToken, tokens);
    for (const handler of [guarded, open, tokens]) handler.attach(server.server);
    // Another origin on the same site (another port of 127.0.0.1): the browser sends it the cookie.
    foreign = await listen({}, pageApp().get('/attack', (_req, res) => res.type('html').send(ATTACK)));
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([server, foreign].map((running) => running?.close()));
  });

  beforeEach(() => {
    opened.length = 0;
  });

  /** A fresh browser profile; logged in as `user` on the server when given. */
  async function visitor(user?: string): Promise<BrowserContext> {
    const context = await browser.newContext();
    if (user !== undefined) {
      const page = await context.newPage();
      await page.goto(`${server.base}/login?name=${user}`);
      await page.close();
    }
    return context;
  }

  async function runIn(context: BrowserContext, origin: string, url: string, transport: string): Promise<string> {
    const page = await context.newPage();
    try {
      await page.goto(`${origin}/`);
      return await run(page, url, transport);
    } finally {
      await page.close();
    }
  }

  it.each(TRANSPORTS)('refuses %s to a logged-out page', async (transport) => {
    const context = await visitor();
    try {
      // The middleware refuses /info too, so sockjs-client gives up before any transport.
      expect(await runIn(context, server.base, `${server.base}/chat`, transport)).toBe('closed:1002');
      expect(opened).toEqual([]);
    } finally {
      await context.close();
    }
  }, 30_000);

  it.each(TRANSPORTS)('opens %s for a logged-in page, and the session knows the user', async (transport) => {
    const context = await visitor('ada');
    try {
      expect(await runIn(context, server.base, `${server.base}/chat`, transport)).toBe('echo:user:ada,ping');
      expect(opened).toEqual(['guarded:ada']);
    } finally {
      await context.close();
    }
  }, 30_000);

  it.each(TRANSPORTS)('opens %s with a bearer token in the query string, and refuses it without', async (transport) => {
    const context = await visitor();
    try {
      const withToken = await runIn(context, server.base, `${server.base}/token?token=token-of-bo`, transport);
      const forged = await runIn(context, server.base, `${server.base}/token?token=forged`, transport);
      expect({ withToken, forged, opened }).toEqual({ withToken: 'echo:user:bo,ping', forged: 'closed:1002', opened: ['token:bo'] });
    } finally {
      await context.close();
    }
  }, 30_000);

  it('counts the websocket handshake in the rate limit, beside /info', async () => {
    const context = await visitor('ada');
    try {
      const key = '127.0.0.1';
      const before = (await limiter.getKey(key))?.totalHits ?? 0;
      expect(await runIn(context, server.base, `${server.base}/chat`, 'websocket')).toBe('echo:user:ada,ping');
      expect(((await limiter.getKey(key))?.totalHits ?? 0) - before).toBe(2);
    } finally {
      await context.close();
    }
  }, 30_000);

  it.each(TRANSPORTS)('gives a logged-in user’s page on another origin no session over %s with allowedOrigins set', async (transport) => {
    const context = await visitor('ada');
    try {
      expect(await runIn(context, foreign.base, `${server.base}/chat`, transport)).toMatch(/^closed:\d+$/);
      expect(opened).toEqual([]);
    } finally {
      await context.close();
    }
  }, 30_000);

  it.each(['websocket', 'iframe-xhr-polling'])(
    'without allowedOrigins, lets that page drive the user’s session over %s (what the option prevents)',
    async (transport) => {
      const context = await visitor('ada');
      try {
        expect(await runIn(context, foreign.base, `${server.base}/open`, transport)).toBe('echo:user:ada,ping');
        expect(opened).toEqual(['open:ada']);
      } finally {
        await context.close();
      }
    },
    30_000,
  );

  it.each([
    ['with allowedOrigins, cannot drive it', '/chat', 'nothing'],
    ['without allowedOrigins, drives the user’s session through it', '/open', 'driven:o,a["user:ada"]'],
  ])('a page on another origin that frames the iframe page, %s', async (_name, prefix, outcome) => {
    const context = await visitor('ada');
    const page = await context.newPage();
    try {
      await page.goto(`${foreign.base}/attack`);
      const base = `${server.base}${prefix}`;
      const result = await page.evaluate(
        ([b, u]) => (globalThis as unknown as { attack: Attack }).attack(b, u, 'xhr-polling'),
        [base, `${base}/000/attacked${Date.now()}`] as const,
      );
      expect(result).toBe(outcome);
      expect(opened).toEqual(prefix === '/open' ? ['open:ada'] : []);
    } finally {
      await context.close();
    }
  }, 30_000);
});

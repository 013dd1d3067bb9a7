/**
 * The demo (demo/server.ts, `npm start`): the nickname login and the chat room's
 * protocol over a SockJS websocket, then the page itself with sockjs-client in
 * headless Chromium, two members logging in and talking. The browser part also
 * takes the README's screenshot: to docs/demo.png with UPDATE_SCREENSHOT=1,
 * otherwise to a temporary directory.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import request from 'supertest';
import { chatRoom, MAX_INPUT, MAX_NICK, MAX_TEXT, type ServerMessage } from '../demo/chat';
import { LOGIN_COOKIE, startDemo, type Demo } from '../demo/server';
import type { StatsMessage, StatsPoint } from '../demo/stats';
import { CLIENT_TRANSPORTS, describeWithChromium, launchChromium } from './support/chromium';
import { rawRequest, upgradeHeaders } from './support/handshake';
import { listen, sessionPath, terminateClients, wsConnect, type WsClient } from './helpers';

const BROWSER_TIMEOUT = 60_000;
const WAIT = { timeout: 20_000 };
const NICK_ERROR = `a nickname is 1 to ${MAX_NICK} printable characters`;

let demo: Demo;
beforeAll(async () => {
  demo = await startDemo(0);
});
afterAll(() => demo.close());

/** Saves a screenshot of `page` as docs/`name` with UPDATE_SCREENSHOT=1, else in a temporary directory it then removes. */
async function screenshot(page: Page, name: string): Promise<void> {
  const update = process.env.UPDATE_SCREENSHOT === '1';
  const dir = update ? path.resolve(__dirname, '..', 'docs') : mkdtempSync(path.join(tmpdir(), 'demo-shot-'));
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  try {
    await page.screenshot({ path: file, fullPage: true });
    expect(statSync(file).size).toBeGreaterThan(10_000);
  } finally {
    if (!update) rmSync(dir, { recursive: true, force: true });
  }
}

/** supertest against a demo server's origin (its `url` ends in a slash). */
const api = (server: Demo = demo) => request(new URL(server.url).origin);

/** Logs in as `nick` on `server`; resolves with the login cookie, as a `Cookie` header sends it. */
async function login(nick: string, server: Demo = demo): Promise<string> {
  const res = await api(server).post('/login').send({ nick });
  expect(res.status).toBe(200);
  const cookie = (res.headers['set-cookie'] as unknown as string[] | undefined)?.[0] ?? '';
  expect(cookie.startsWith(`${LOGIN_COOKIE}=`)).toBe(true);
  return cookie.split(';')[0];
}

/** A framed SockJS websocket to the demo's /chat, sending `headers` with the handshake. */
function chatSocket(headers: Record<string, string>) {
  return wsConnect(`${demo.url.replace('http', 'ws')}chat${sessionPath()}/websocket`, headers);
}

/** A chat member over a framed SockJS websocket, logged in with `cookie`: sends JSON, reads messages one by one. */
async function member(cookie: string) {
  const client = await chatSocket({ Cookie: cookie });
  expect(await client.next()).toBe('o');
  const inbox: ServerMessage[] = [];
  return {
    client,
    send(message: unknown): void {
      client.ws.send(JSON.stringify([typeof message === 'string' ? message : JSON.stringify(message)]));
    },
    /** The next chat message; a frame may carry several, heartbeats are skipped. */
    async next(): Promise<ServerMessage> {
      while (inbox.length === 0) {
        const frame = await client.next(5000);
        if (frame.startsWith('a')) {
          for (const text of JSON.parse(frame.slice(1)) as string[]) inbox.push(JSON.parse(text) as ServerMessage);
        } else if (frame !== 'h') {
          throw new Error(`unexpected frame ${frame}`);
        }
      }
      return inbox.shift() as ServerMessage;
    },
  };
}

/** One member, logged in as `nick`, their own join notice read. */
async function joined(nick: string) {
  const one = await member(await login(nick));
  expect((await one.next()).type).toBe('join');
  return one;
}

/** Two members in the room, their join notices read. */
async function twoMembers() {
  const ada = await joined('ada');
  const grace = await joined('grace');
  expect(await ada.next()).toMatchObject({ type: 'join', nick: 'grace' });
  return { ada, grace };
}

describe('demo chat room (demo/chat.ts)', () => {
  afterEach(() => terminateClients());

  it('announces each member with the user count as the session opens, and broadcasts chat lines to every member', async () => {
    const ada = await member(await login('ada'));
    expect(await ada.next()).toEqual({ type: 'join', nick: 'ada', users: 1, transport: 'websocket' });
    const grace = await member(await login('grace'));
    expect(await ada.next()).toEqual({ type: 'join', nick: 'grace', users: 2, transport: 'websocket' });
    expect(await grace.next()).toEqual({ type: 'join', nick: 'grace', users: 2, transport: 'websocket' });

    grace.send({ type: 'say', text: 'hello, ada' });
    for (const one of [ada, grace]) expect(await one.next()).toEqual({ type: 'say', nick: 'grace', text: 'hello, ada' });

    grace.client.ws.close();
    expect(await ada.next()).toEqual({ type: 'leave', nick: 'grace', users: 1 });
  });

  it('answers a ping to the sender only', async () => {
    const { ada, grace } = await twoMembers();
    grace.send({ type: 'ping', id: 41 });
    grace.send({ type: 'say', text: 'after the ping' });
    expect(await grace.next()).toEqual({ type: 'pong', id: 41 });
    expect(await ada.next()).toEqual({ type: 'say', nick: 'grace', text: 'after the ping' });
  });

  it('closes the session of a member who leaves and tells the others', async () => {
    const { ada, grace } = await twoMembers();
    grace.send({ type: 'leave' });
    expect(await grace.client.next()).toBe('c[1000,"Left the room"]');
    expect(await ada.next()).toEqual({ type: 'leave', nick: 'grace', users: 1 });
  });

  it.each([
    ['bad JSON', '{"type":', 'not JSON'],
    ['a JSON string', '"hello"', 'expected a JSON object'],
    ['null', 'null', 'expected a JSON object'],
    ['an unknown type', { type: 'shout', text: 'hi' }, 'unknown message type'],
    ['a join message (the login names the member now)', { type: 'join', nick: 'someone else' }, 'unknown message type'],
    ['an empty chat line', { type: 'say', text: '   ' }, `a chat line is 1 to ${MAX_TEXT} printable characters`],
    ['a chat line over the limit', { type: 'say', text: 'y'.repeat(MAX_TEXT + 1) }, `a chat line is 1 to ${MAX_TEXT} printable characters`],
    ['a ping without an integer id', { type: 'ping', id: 'x' }, 'a ping needs an integer id'],
    ['input over the limit', 'x'.repeat(MAX_INPUT + 1), `message over ${MAX_INPUT} characters`],
  ])('answers %s with an error message and keeps the session', async (_name, message, error) => {
    const ada = await joined('ada');
    ada.send(message);
    expect(await ada.next()).toEqual({ type: 'error', message: error });
    ada.send({ type: 'ping', id: 1 });
    expect(await ada.next()).toEqual({ type: 'pong', id: 1 });
  });

  it('closes a websocket whose message is over the transport bound, and carries on', async () => {
    const ada = await joined('ada');
    ada.send('z'.repeat(32 * 1024));
    expect((await ada.client.closed).code).toBe(1009);
    const grace = await joined('grace');
    grace.send({ type: 'ping', id: 2 });
    expect(await grace.next()).toEqual({ type: 'pong', id: 2 });
  });

  it('closes at once a session that no member stands behind (a room mounted without the login guard)', async () => {
    const room = chatRoom(() => undefined);
    const server = await listen({ '/room': room });
    try {
      const client = await wsConnect(`ws://127.0.0.1:${server.port}/room${sessionPath()}/websocket`);
      expect(await client.next()).toBe('o');
      expect(await client.next()).toBe('c[4001,"Log in first"]');
    } finally {
      await server.close();
    }
  });
});

describe('demo login (demo/server.ts)', () => {
  afterEach(() => terminateClients());

  it('logs in with the trimmed nickname in an httpOnly, SameSite=Lax cookie, and /me tells who is logged in', async () => {
    const res = await api().post('/login').send({ nick: '  grace ' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ nick: 'grace' });
    const [cookie] = res.headers['set-cookie'] as unknown as string[];
    expect(cookie).toMatch(new RegExp(`^${LOGIN_COOKIE}=[^;]+; Path=/; Expires=[^;]+; HttpOnly; SameSite=Lax$`));
    const me = await api().get('/me').set('Cookie', cookie.split(';')[0]);
    expect(me.body).toEqual({ nick: 'grace' });
    expect((await api().get('/me')).body).toEqual({ nick: null });
  });

  it.each([
    ['an empty nickname', { nick: '   ' }],
    ['a nickname that is not a string', { nick: 42 }],
    ['a nickname with a control character', { nick: 'a\u0007b' }],
    ['a nickname over the limit', { nick: 'n'.repeat(MAX_NICK + 1) }],
    ['no nickname', {}],
  ])('refuses %s with 400 and the reason, and logs nobody in', async (_name, body) => {
    const res = await api().post('/login').send(body);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: NICK_ERROR });
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('refuses a login that is not JSON (what a form on another site would send)', async () => {
    const res = await api().post('/login').type('form').send('nick=mallory');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: NICK_ERROR });
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it.each([
    ['without a login cookie', {}],
    ['with a cookie the server never issued', { Cookie: `${LOGIN_COOKIE}=s%3Aforged.forged` }],
  ])('answers 401 %s on every transport, websocket handshakes included', async (_name, headers: Record<string, string>) => {
    const handshake = await rawRequest(Number(new URL(demo.url).port), 'GET', `/chat${sessionPath()}/websocket`, {
      ...upgradeHeaders(),
      ...headers,
    });
    expect({ status: handshake.status, body: handshake.body }).toEqual({ status: 401, body: 'Log in first.' });
    const poll = await api().post(`/chat${sessionPath()}/xhr`).set(headers);
    expect({ status: poll.status, text: poll.text }).toEqual({ status: 401, text: 'Log in first.' });
    const info = await api().get('/chat/info').set(headers);
    expect(info.status).toBe(401);
  });

  it('lets a logged-in xhr poll open a session', async () => {
    const cookie = await login('ada');
    const session = `/chat${sessionPath()}`;
    const poll = await api().post(`${session}/xhr`).set('Cookie', cookie);
    expect({ status: poll.status, text: poll.text }).toEqual({ status: 200, text: 'o\n' });
    // Out of the room again, so that the next specs count their own members only.
    const leave = await api().post(`${session}/xhr_send`).set('Cookie', cookie).type('text').send('["{\\"type\\":\\"leave\\"}"]');
    expect(leave.status).toBe(204);
  });

  it('ends access at logout: open sessions close, the cookie opens nothing more', async () => {
    const cookie = await login('ada');
    const ada = await member(cookie);
    await ada.next();
    const grace = await joined('grace');
    const res = await api().post('/logout').set('Cookie', cookie);
    expect(res.status).toBe(204);
    expect(await ada.next()).toMatchObject({ type: 'join', nick: 'grace' });
    expect(await ada.client.next()).toBe('c[4001,"Logged out"]');
    expect(await grace.next()).toEqual({ type: 'leave', nick: 'ada', users: 1 });
    await expect(chatSocket({ Cookie: cookie })).rejects.toThrow('Unexpected server response: 401');
    expect((await api().post(`/chat${sessionPath()}/xhr`).set('Cookie', cookie)).status).toBe(401);
    expect((await api().get('/me').set('Cookie', cookie)).body).toEqual({ nick: null });
  });

  it('gives a fresh session id at login and ends the sessions of the login it replaces', async () => {
    const first = await login('ada');
    const ada = await member(first);
    await ada.next();
    const res = await api().post('/login').set('Cookie', first).send({ nick: 'ada2' });
    expect(res.body).toEqual({ nick: 'ada2' });
    const second = (res.headers['set-cookie'] as unknown as string[])[0].split(';')[0];
    expect(second).not.toBe(first);
    expect(await ada.client.next()).toBe('c[4001,"Logged out"]');
    await expect(chatSocket({ Cookie: first })).rejects.toThrow('Unexpected server response: 401');
    const again = await member(second);
    expect(await again.next()).toMatchObject({ type: 'join', nick: 'ada2' });
  });

  it('admits only its own pages with a login cookie (allowedOrigins: [])', async () => {
    const cookie = await login('ada');
    await expect(chatSocket({ Cookie: cookie, Origin: 'http://evil.example' })).rejects.toThrow('Unexpected server response: 403');
    const own = await member(cookie);
    expect(await own.next()).toMatchObject({ type: 'join', nick: 'ada' });
    const fromPage = await chatSocket({ Cookie: cookie, Origin: new URL(demo.url).origin });
    expect(await fromPage.next()).toBe('o');
  });

  it('refuses logins past maxLogins with 503, until one logs out', async () => {
    const small = await startDemo(0, { maxLogins: 1 });
    try {
      const cookie = await login('ada', small);
      const refused = await api(small).post('/login').send({ nick: 'grace' });
      expect({ status: refused.status, body: refused.body }).toEqual({
        status: 503,
        body: { error: 'too many people are logged in; try again later' },
      });
      expect((await api(small).post('/logout').set('Cookie', cookie)).status).toBe(204);
      await login('grace', small);
    } finally {
      await small.close();
    }
  });
});

describe('demo stats (demo/stats.ts)', () => {
  /** Reads feed frames until a point satisfies `predicate`. */
  async function pointWhere(feed: WsClient, predicate: (point: StatsPoint) => boolean): Promise<StatsPoint> {
    for (;;) {
      const frame = await feed.next(5000);
      if (!frame.startsWith('a')) continue;
      for (const text of JSON.parse(frame.slice(1)) as string[]) {
        const message = JSON.parse(text) as StatsMessage;
        if (message.type === 'point' && predicate(message.point)) return message.point;
      }
    }
  }

  it('streams the chat room’s sessions by transport and messages per second, after its history, and serves them at /metrics', async () => {
    const room = await startDemo(0);
    try {
      const feed = await wsConnect(`${room.url.replace('http', 'ws')}stats-feed${sessionPath()}/websocket`);
      expect(await feed.next()).toBe('o');
      const first = JSON.parse((JSON.parse((await feed.next()).slice(1)) as string[])[0]) as StatsMessage;
      expect(first.type).toBe('history');

      const cookie = await login('ada', room);
      const chat = await wsConnect(`${room.url.replace('http', 'ws')}chat${sessionPath()}/websocket`, { Cookie: cookie });
      expect(await chat.next()).toBe('o');
      expect(await chat.next()).toContain('join');
      const point = await pointWhere(feed, (one) => one.open.websocket === 1);
      expect(point.open).toEqual({ websocket: 1, 'xhr-streaming': 0, 'xhr-polling': 0, eventsource: 0, htmlfile: 0, 'jsonp-polling': 0 });

      // Pings, answered one by one: the feed sees messages flow both ways.
      for (let id = 0; id < 5; id++) {
        chat.ws.send(JSON.stringify([JSON.stringify({ type: 'ping', id })]));
        expect(await chat.next()).toContain('pong');
      }
      await pointWhere(feed, (one) => one.in > 0 && one.out > 0);

      const metrics = await api(room).get('/metrics').expect(200);
      expect(metrics.text).toMatch(/^sockjs_sessions_open\{handler="chat",transport="websocket"\} 1$/m);
      expect(metrics.text).toMatch(/^sockjs_messages_received_total\{handler="chat"\} 5$/m);
    } finally {
      await room.close();
    }
  });
});

describeWithChromium('demo page in Chromium (demo/public)', () => {
  let browser: Browser;
  const pageErrors: string[] = [];
  const dialogs: string[] = [];

  /** Opens the page at `url` in a browser context (a fresh one unless given), ready to log in. */
  async function visit(url: string, name: string, context?: BrowserContext): Promise<Page> {
    const page = await (context ?? (await browser.newContext({ viewport: { width: 820, height: 560 } }))).newPage();
    page.on('pageerror', (error) => pageErrors.push(`${name}: ${error.message}`));
    page.on('dialog', (dialog) => {
      dialogs.push(`${name}: ${dialog.message()}`);
      void dialog.dismiss();
    });
    await page.goto(url);
    return page;
  }

  /** Logs in through the form as `nick`. */
  async function logIn(page: Page, nick: string): Promise<void> {
    await page.locator('#login').waitFor(WAIT);
    await page.fill('#nick', nick);
    await page.click('#log-in');
    await page.locator('#me', { hasText: new RegExp(`^${nick}$`) }).waitFor(WAIT);
  }

  /** Joins the room over `transport` ('' for auto) on a logged-in page. */
  async function enter(page: Page, transport = ''): Promise<void> {
    await page.selectOption('#transport', transport);
    await page.click('#connect');
    await page.locator('#state', { hasText: /^open$/ }).waitFor(WAIT);
  }

  /** Opens the page at `url` in its own browser context, logs in as `nick` and joins, over `transport` if given. */
  async function join(url: string, nick: string, transport = ''): Promise<Page> {
    const page = await visit(url, nick);
    await logIn(page, nick);
    await enter(page, transport);
    return page;
  }

  /** Types `text` into the send box of `page` and sends it. */
  async function say(page: Page, text: string): Promise<void> {
    await page.fill('#text', text);
    await page.click('#send');
  }

  /** The (last) chat line on `page` whose text is exactly `text`, once it has arrived. */
  async function line(page: Page, text: string) {
    const exactly = new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
    const found = page.locator('#messages li.chat').filter({ has: page.locator('.text', { hasText: exactly }) }).last();
    await found.waitFor(WAIT);
    return found;
  }

  beforeAll(async () => {
    browser = await launchChromium();
  }, BROWSER_TIMEOUT);

  afterAll(async () => {
    await browser?.close();
  });

  afterEach(() => {
    expect(pageErrors).toEqual([]);
    expect(dialogs).toEqual([]);
  });

  describe('two members', () => {
    let ada: Page;
    let grace: Page;
    beforeAll(async () => {
      ada = await join(demo.url, 'ada');
      grace = await join(demo.url, 'grace');
    }, BROWSER_TIMEOUT);

    it('shows join notices and the user count', async () => {
      await ada.locator('#messages li.notice', { hasText: 'grace joined' }).waitFor(WAIT);
      for (const page of [ada, grace]) await page.locator('#users', { hasText: /^2$/ }).waitFor(WAIT);
    }, BROWSER_TIMEOUT);

    it('delivers a chat line from one page to the other', async () => {
      await say(ada, 'Hello Grace, this is the demo chat.');
      const received = await line(grace, 'Hello Grace, this is the demo chat.');
      expect(await received.locator('.nick').textContent()).toBe('ada');
    }, BROWSER_TIMEOUT);

    it('shows the round-trip time as a number of milliseconds', async () => {
      const rtt = grace.locator('#rtt', { hasText: /^\d+ ms$/ });
      await rtt.waitFor(WAIT);
      expect(Number((await rtt.textContent())?.replace(' ms', ''))).toBeGreaterThanOrEqual(0);
    }, BROWSER_TIMEOUT);

    it.each([...CLIENT_TRANSPORTS, 'auto'])(
      'reconnects over %s when it is picked, and chats over it',
      async (transport) => {
        const joins = grace.locator('#messages li.notice', { hasText: 'ada joined' });
        const before = await joins.count();
        await ada.selectOption('#transport', transport === 'auto' ? '' : transport);
        // "auto" picks websocket here: nothing between page and server stops it.
        const expected = transport === 'auto' ? 'websocket' : transport;
        await ada.locator('#transport-in-use', { hasText: new RegExp(`^${expected}$`) }).waitFor(WAIT);
        await ada.locator('#state', { hasText: /^open$/ }).waitFor(WAIT);
        // The server's side of it (an iframe transport is its inner one there), and the
        // old session gone: the join counts two members, not three.
        await joins.nth(before).waitFor(WAIT);
        expect(await joins.nth(before).textContent()).toBe(`ada joined (the server sees ${expected.replace(/^iframe-/, '')})`);
        expect(await grace.locator('#users').textContent()).toBe('2');
        await say(ada, `now over ${expected}, picked as ${transport}`);
        await line(grace, `now over ${expected}, picked as ${transport}`);
      },
      BROWSER_TIMEOUT,
    );

    it('shows hostile text as text', async () => {
      const hostile = '<img src=x onerror=alert(1)>';
      await say(grace, hostile);
      const received = await line(ada, hostile);
      expect(await received.locator('.text').textContent()).toBe(hostile);
      expect(await ada.locator('#messages img').count()).toBe(0);
    }, BROWSER_TIMEOUT);
  });

  describe('the login', () => {
    it('shows only the login form when logged out, and a bad nickname’s reason', async () => {
      const page = await visit(demo.url, 'nobody');
      await page.locator('#login').waitFor(WAIT);
      expect(await page.locator('#join').isVisible()).toBe(false);
      await page.fill('#nick', '   ');
      await page.click('#log-in');
      await page.locator('#login-error', { hasText: NICK_ERROR }).waitFor(WAIT);
      expect(await page.locator('#join').isVisible()).toBe(false);
      await page.context().close();
    }, BROWSER_TIMEOUT);

    it('shows who is logged in, and keeps the login across a reload', async () => {
      const page = await visit(demo.url, 'kay');
      await logIn(page, 'kay');
      expect(await page.locator('#who').textContent()).toBe('logged in as kay');
      await page.reload();
      await page.locator('#me', { hasText: /^kay$/ }).waitFor(WAIT);
      expect(await page.locator('#login').isVisible()).toBe(false);
      await page.context().close();
    }, BROWSER_TIMEOUT);

    it('logs out: closes the connection, the others see the member leave, the login form is back', async () => {
      const ada = await join(demo.url, 'ada');
      const bo = await join(demo.url, 'bo');
      await ada.locator('#messages li.notice', { hasText: 'bo joined' }).waitFor(WAIT);
      await bo.click('#logout');
      await bo.locator('#login').waitFor(WAIT);
      expect(await bo.locator('#state').textContent()).toBe('closed');
      expect(await bo.locator('#text').isDisabled()).toBe(true);
      await ada.locator('#messages li.notice', { hasText: /^bo left$/ }).waitFor(WAIT);
      expect(await bo.locator('#refused').isVisible()).toBe(false);
      await Promise.all([ada, bo].map((page) => page.context().close()));
    }, BROWSER_TIMEOUT);

    it('says so and shows the login form when a logout in another tab ends the connection', async () => {
      const first = await join(demo.url, 'cy', 'xhr-polling');
      const second = await visit(demo.url, 'cy (second tab)', first.context());
      await second.locator('#me', { hasText: /^cy$/ }).waitFor(WAIT);
      await second.click('#logout');
      await first.locator('#refused', { hasText: 'Your login has ended' }).waitFor(WAIT);
      await first.locator('#login').waitFor(WAIT);
      expect(await first.locator('#state').textContent()).toBe('closed');
      expect(await first.locator('#messages li.notice').last().textContent()).toBe('disconnected (4001 Logged out)');
      await first.context().close();
    }, BROWSER_TIMEOUT);

    it('says so when the server refuses to connect because the login expired', async () => {
      const page = await visit(demo.url, 'dee');
      await logIn(page, 'dee');
      // What an expired login looks like to the server: no cookie.
      await page.context().clearCookies();
      await page.click('#connect');
      await page.locator('#refused', { hasText: 'Your login has ended' }).waitFor(WAIT);
      await page.locator('#login').waitFor(WAIT);
      expect(await page.locator('#messages li.notice').last().textContent()).toBe('disconnected (1002 Cannot connect to server)');
      await page.context().close();
    }, BROWSER_TIMEOUT);
  });

  describe('the stats page', () => {
    let room: Demo;
    beforeAll(async () => {
      room = await startDemo(0);
    });
    afterAll(() => room.close());

    it('charts the room live over SockJS, and is the README’s second screenshot (docs/stats.png with UPDATE_SCREENSHOT=1)', async () => {
      const ada = await join(room.url, 'ada', 'websocket');
      const grace = await join(room.url, 'grace', 'xhr-streaming');
      const stats = await visit(`${room.url}stats`, 'stats');
      await stats.locator('#feed-state', { hasText: /^open$/ }).waitFor(WAIT);
      await stats.locator('#open-now', { hasText: /^2$/ }).waitFor(WAIT);
      // A few seconds of conversation, so the charts have a line to show.
      for (let i = 1; i <= 6; i++) {
        await say(i % 2 ? ada : grace, `line ${i}`);
        await line(ada, `line ${i}`);
        await stats.waitForTimeout(700);
      }
      await stats.locator('#in-now', { hasText: /^[1-9]\d*$/ }).or(stats.locator('#out-now', { hasText: /^[1-9]\d*$/ })).first().waitFor(WAIT);
      expect(await stats.locator('.uplot').count()).toBe(2);
      expect(await stats.locator('.uplot .u-title').allTextContents()).toEqual(['Sessions open by transport (stacked)', 'Messages per second']);

      await screenshot(stats, 'stats.png');
      await Promise.all([ada.context().close(), grace.context().close(), stats.context().close()]);
    }, BROWSER_TIMEOUT);
  });

  describe('the README screenshot', () => {
    // A room of its own, so the picture shows a short conversation.
    let room: Demo;
    beforeAll(async () => {
      room = await startDemo(0);
    });
    afterAll(() => room.close());

    it('is taken of a conversation (docs/demo.png with UPDATE_SCREENSHOT=1, else a temp dir)', async () => {
      const ada = await join(room.url, 'ada');
      const grace = await join(room.url, 'grace');
      const talk = async (page: Page, text: string): Promise<void> => {
        await say(page, text);
        await line(ada, text);
      };
      await talk(grace, 'Hi Ada! Which transport are you on?');
      await talk(ada, 'A websocket. Let me pick another one above.');
      await ada.selectOption('#transport', 'xhr-streaming');
      await ada.locator('#transport-in-use', { hasText: /^xhr-streaming$/ }).waitFor(WAIT);
      await grace.locator('#messages li.notice', { hasText: 'ada joined (the server sees xhr-streaming)' }).waitFor(WAIT);
      await talk(grace, 'Welcome back. Markup stays text here: <img src=x onerror=alert(1)>');
      await talk(ada, 'xhr-streaming now, and the round trip is in the bar.');
      await ada.locator('#rtt', { hasText: /^\d+ ms$/ }).waitFor(WAIT);

      await screenshot(ada, 'demo.png');
    }, BROWSER_TIMEOUT);
  });
});

/**
 * The demo (demo/server.ts, `npm start`): the chat room's protocol over a SockJS
 * websocket, then the page itself with sockjs-client in headless Chromium, two
 * members talking. The browser part also takes the README's screenshot: to
 * docs/demo.png with UPDATE_SCREENSHOT=1, otherwise to a temporary directory.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { MAX_INPUT, MAX_NICK, MAX_TEXT, type ServerMessage } from '../demo/chat';
import { startDemo, type Demo } from '../demo/server';
import { describeWithChromium, launchChromium } from './support/chromium';
import { sessionPath, terminateClients, wsConnect } from './helpers';

const BROWSER_TIMEOUT = 60_000;
const WAIT = { timeout: 20_000 };

let demo: Demo;
beforeAll(async () => {
  demo = await startDemo(0);
});
afterAll(() => demo.close());

/** A chat member over a framed SockJS websocket: sends JSON, reads messages one by one. */
async function member() {
  const client = await wsConnect(`${demo.url.replace('http', 'ws')}chat${sessionPath()}/websocket`);
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

/** Two members who have joined, their join notices read. */
async function twoMembers() {
  const ada = await member();
  const grace = await member();
  ada.send({ type: 'join', nick: 'ada' });
  grace.send({ type: 'join', nick: 'grace' });
  for (const notice of [ada, ada, grace]) expect((await notice.next()).type).toBe('join');
  return { ada, grace };
}

describe('demo chat room (demo/chat.ts)', () => {
  afterEach(() => terminateClients());

  it('announces joins with the user count and broadcasts chat lines to every member', async () => {
    const ada = await member();
    const grace = await member();
    ada.send({ type: 'join', nick: 'ada' });
    expect(await ada.next()).toEqual({ type: 'join', nick: 'ada', users: 1, transport: 'websocket' });
    grace.send({ type: 'join', nick: '  grace ' });
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

  const nickError = `a nickname is 1 to ${MAX_NICK} printable characters`;
  it.each([
    ['bad JSON', '{"type":', 'not JSON'],
    ['a JSON string', '"hello"', 'expected a JSON object'],
    ['null', 'null', 'expected a JSON object'],
    ['an unknown type', { type: 'shout', text: 'hi' }, 'unknown message type'],
    ['a chat line before joining', { type: 'say', text: 'hi' }, 'join first'],
    ['an empty nickname', { type: 'join', nick: '   ' }, nickError],
    ['a nickname that is not a string', { type: 'join', nick: 42 }, nickError],
    ['a nickname with a control character', { type: 'join', nick: 'a\u0007b' }, nickError],
    ['a ping without an integer id', { type: 'ping', id: 'x' }, 'a ping needs an integer id'],
    ['input over the limit', 'x'.repeat(MAX_INPUT + 1), `message over ${MAX_INPUT} characters`],
  ])('answers %s with an error message and keeps the session', async (_name, message, error) => {
    const ada = await member();
    ada.send(message);
    expect(await ada.next()).toEqual({ type: 'error', message: error });
    ada.send({ type: 'ping', id: 1 });
    expect(await ada.next()).toEqual({ type: 'pong', id: 1 });
  });

  it('closes a websocket whose message is over the transport bound, and carries on', async () => {
    const ada = await member();
    ada.send('z'.repeat(32 * 1024));
    expect((await ada.client.closed).code).toBe(1009);
    const grace = await member();
    grace.send({ type: 'ping', id: 2 });
    expect(await grace.next()).toEqual({ type: 'pong', id: 2 });
  });

  it('refuses a second join and an over-long chat line', async () => {
    const ada = await member();
    ada.send({ type: 'join', nick: 'ada' });
    await ada.next();
    ada.send({ type: 'join', nick: 'ada2' });
    expect(await ada.next()).toEqual({ type: 'error', message: 'already joined' });
    ada.send({ type: 'say', text: 'y'.repeat(MAX_TEXT + 1) });
    expect(await ada.next()).toEqual({ type: 'error', message: `a chat line is 1 to ${MAX_TEXT} printable characters` });
  });
});

describeWithChromium('demo page in Chromium (demo/public)', () => {
  let browser: Browser;
  const pageErrors: string[] = [];
  const dialogs: string[] = [];

  /** Opens the page at `url` in its own browser context and joins as `nick`, over `transport` if given. */
  async function join(url: string, nick: string, transport = ''): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 820, height: 560 } });
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(`${nick}: ${error.message}`));
    page.on('dialog', (dialog) => {
      dialogs.push(`${nick}: ${dialog.message()}`);
      void dialog.dismiss();
    });
    await page.goto(url);
    await page.fill('#nick', nick);
    await page.selectOption('#transport', transport);
    await page.click('#connect');
    await page.locator('#state', { hasText: /^open$/ }).waitFor(WAIT);
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

    it.each([
      'websocket',
      'xhr-streaming',
      'eventsource',
      'iframe-eventsource',
      'htmlfile',
      'iframe-htmlfile',
      'xhr-polling',
      'iframe-xhr-polling',
      'jsonp-polling',
      'auto',
    ])(
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

      const update = process.env.UPDATE_SCREENSHOT === '1';
      const dir = update ? path.resolve(__dirname, '..', 'docs') : mkdtempSync(path.join(tmpdir(), 'demo-shot-'));
      mkdirSync(dir, { recursive: true });
      const file = path.join(dir, 'demo.png');
      try {
        await ada.screenshot({ path: file, fullPage: true });
        expect(statSync(file).size).toBeGreaterThan(10_000);
      } finally {
        if (!update) rmSync(dir, { recursive: true, force: true });
      }
    }, BROWSER_TIMEOUT);
  });
});

/**
 * The origin policy against a real browser and the real sockjs-client: a page
 * on an allowed origin gets every transport (the iframe ones included, which
 * run on the server's own origin inside a frame), a page on another origin
 * gets none, and cannot frame the iframe page even when it hides its Referer.
 */
import express from 'express';
import type { Browser } from 'playwright-core';
import { echo, listen, type Running } from './helpers';
import { describeWithChromium, launchChromium, sockjsClientFile } from './support/chromium';
import { pageApp, run } from './support/run-page';

describeWithChromium('allowedOrigins in Chromium with sockjs-client', () => {
  let browser: Browser;
  let sockjsServer: Running;
  let allowed: Running;
  let foreign: Running;
  /** The SockJS endpoint, on 127.0.0.1. */
  let endpoint: string;
  /** The allowed page's origin: `localhost`, a different origin from 127.0.0.1. */
  let allowedOrigin: string;

  beforeAll(async () => {
    allowed = await listen({}, pageApp());
    foreign = await listen({}, pageApp());
    allowedOrigin = `http://localhost:${allowed.port}`;
    const app = express();
    app.get('/sockjs.js', (_req, res) => res.sendFile(sockjsClientFile));
    sockjsServer = await listen({ '/s': echo({ allowedOrigins: [allowedOrigin], sockjsUrl: '/sockjs.js' }) }, app);
    endpoint = `${sockjsServer.base}/s`;
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([sockjsServer, allowed, foreign].map((server) => server?.close()));
  });

  const TRANSPORTS = [
    'websocket',
    'xhr-streaming',
    'xhr-polling',
    'iframe-eventsource',
    'iframe-htmlfile',
    'iframe-xhr-polling',
    'jsonp-polling',
  ];

  it.each(TRANSPORTS)('serves %s to a page on an allowed origin', async (transport) => {
    const page = await browser.newPage();
    try {
      await page.goto(`${allowedOrigin}/`);
      expect(await run(page, endpoint, transport)).toBe('echo:ping');
    } finally {
      await page.close();
    }
  }, 30_000);

  it.each(TRANSPORTS)('refuses %s to a page on another origin', async (transport) => {
    const page = await browser.newPage();
    try {
      await page.goto(`${foreign.base}/`);
      expect(await run(page, endpoint, transport)).toMatch(/^closed:\d+$/);
    } finally {
      await page.close();
    }
  }, 30_000);

  it.each([
    ['with its Referer', '0'],
    ['hiding its Referer', '1'],
  ])('keeps a page on another origin from framing the iframe page (%s)', async (_name, hide) => {
    const page = await browser.newPage();
    try {
      const src = `${endpoint}/iframe.html`;
      const framed = page.waitForResponse((response) => response.url() === src);
      await page.goto(`${foreign.base}/frame?hide=${hide}&src=${encodeURIComponent(src)}`);
      expect((await framed).status()).toBe(403);
      const frame = page.frames().find((f) => f !== page.mainFrame());
      expect(await frame?.content()).not.toContain('SockJS hidden iframe');
    } finally {
      await page.close();
    }
  }, 30_000);

  it('lets the allowed page frame the iframe page', async () => {
    const page = await browser.newPage();
    try {
      const src = `${endpoint}/iframe.html`;
      const framed = page.waitForResponse((response) => response.url() === src);
      await page.goto(`${allowedOrigin}/frame?src=${encodeURIComponent(src)}`);
      expect((await framed).status()).toBe(200);
      const frame = page.frames().find((f) => f.url() === src);
      await frame?.waitForLoadState();
      expect(await frame?.content()).toContain('SockJS hidden iframe');
    } finally {
      await page.close();
    }
  }, 30_000);
});

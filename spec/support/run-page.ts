/**
 * A page for the browser specs that loads sockjs-client and offers
 * `run(url, transport)`: open a session over one forced transport, send
 * `ping`, and report what came back up to its echo, or how the session closed.
 */
import express from 'express';
import type { Page } from 'playwright-core';
import { sockjsClientFile } from './chromium';

const PAGE = `<!DOCTYPE html>
<html><head><script src="/sockjs.js"></script><script>
window.run = (url, transport) => new Promise((resolve) => {
  const sock = new SockJS(url, null, { transports: [transport] });
  const got = [];
  const timer = setTimeout(() => resolve('timeout'), 15000);
  sock.onopen = () => sock.send('ping');
  sock.onmessage = (e) => {
    got.push(e.data);
    if (e.data !== 'ping') return;
    clearTimeout(timer);
    resolve('echo:' + got.join(','));
    sock.close();
  };
  sock.onclose = (e) => { clearTimeout(timer); resolve('closed:' + e.code); };
});
</script></head><body></body></html>`;

/**
 * The page at `/`, the sockjs-client build at `/sockjs.js`, and `/frame?src=`:
 * a page that frames `src` (with `hide=1`, hiding its Referer).
 */
export function pageApp(app = express()): express.Express {
  app.get('/sockjs.js', (_req, res) => res.sendFile(sockjsClientFile));
  app.get('/', (_req, res) => res.type('html').send(PAGE));
  app.get('/frame', (req, res) => {
    const policy = req.query.hide === '1' ? ' referrerpolicy="no-referrer"' : '';
    res.type('html').send(`<!DOCTYPE html><iframe src="${String(req.query.src)}"${policy}></iframe>`);
  });
  return app;
}

type Run = (url: string, transport: string) => Promise<string>;

/**
 * Runs one session on `page`: `echo:<messages up to the echo of ping>`,
 * `closed:<code>` when it closed first, or `timeout`.
 */
export function run(page: Page, url: string, transport: string): Promise<string> {
  return page.evaluate(([u, t]) => (globalThis as unknown as { run: Run }).run(u, t), [url, transport] as const);
}

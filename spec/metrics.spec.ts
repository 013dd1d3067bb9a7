/**
 * `sockjs-express/metrics`: a real app serves its registry at `/metrics`;
 * the specs send traffic on several transports, scrape it over HTTP, and
 * check the values against what was sent, and the exposition with promtool.
 */
import { spawnSync } from 'node:child_process';
import express from 'express';
import { Registry } from 'prom-client';
import request from 'supertest';
import { sockjs, type Session, type SockJSHandler } from '../lib';
import { collectMetrics } from '../lib/metrics';
import { closeOf, listen, post, sessionPath, stream, terminateClients, wsConnect, type Running } from './helpers';
import { describeRequiring } from './support/requires';

const running: Running[] = [];

afterEach(async () => {
  terminateClients();
  await Promise.all(running.splice(0).map((server) => server.close()));
});

/** Echoes every message, and closes with the code it names on `close <code>`. */
function echoing(session: Session): void {
  session.on('data', (message) => {
    const close = /^close (\d+)$/.exec(message);
    if (close) session.close(Number(close[1]), 'bye');
    else session.send(message);
  });
}

/** An app with `handlers` mounted at their keys, and their metrics (labelled by key) at `/metrics`. */
async function app(handlers: Record<string, SockJSHandler>, closeCodes: number[] = []): Promise<Running> {
  const registry = new Registry();
  const application = express();
  for (const [prefix, handler] of Object.entries(handlers)) collectMetrics(handler, { registry, handler: prefix.slice(1), closeCodes });
  application.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  const server = await listen(handlers, application);
  running.push(server);
  return server;
}

async function scrape(server: Running): Promise<string> {
  const res = await request(server.base).get('/metrics').expect(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text;
}

/** The value of the series `name{labels}` in an exposition (labels in any order), or `undefined`. */
function sample(exposition: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of exposition.split('\n')) {
    const match = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...match[2].matchAll(/([a-z_]+)="([^"]*)"/g)].map((pair) => [pair[1], pair[2]]));
    if (Object.keys(found).length === Object.keys(labels).length && Object.entries(labels).every(([key, value]) => found[key] === value)) {
      return Number(match[3]);
    }
  }
  return undefined;
}

/** Traffic on four transports: what it sent and left open is in the test that calls it. */
async function traffic(server: Running, prefix: string): Promise<() => void> {
  const url = `${server.base}${prefix}`;
  // websocket: 2 messages in, echoed; stays open.
  const ws = await wsConnect(`${url.replace('http', 'ws')}${sessionPath()}/websocket`);
  expect(await ws.next()).toBe('o');
  ws.ws.send(JSON.stringify(['héllo', 'x']));
  expect(await ws.next()).toBe('a["héllo","x"]');
  // xhr-streaming: 1 message in, echoed; stays open.
  const path = `${prefix}${sessionPath()}`;
  const streaming = await stream(`${server.base}${path}/xhr_streaming`);
  await streaming.until((text) => text.endsWith('o\n'));
  expect((await post(`${server.base}${path}/xhr_send`, '["€uro"]')).status).toBe(204);
  await streaming.until((text) => text.includes('a["€uro"]'));
  // xhr-polling: `close 4001` closes it.
  const polling = `${prefix}${sessionPath()}`;
  expect((await request(server.base).post(`${polling}/xhr`)).text).toBe('o\n');
  expect((await post(`${server.base}${polling}/xhr_send`, '["close 4001"]')).status).toBe(204);
  expect((await request(server.base).post(`${polling}/xhr`)).text).toBe('c[4001,"bye"]\n');
  // eventsource: `close 4002` closes it.
  const eventsource = `${prefix}${sessionPath()}`;
  const events = await stream(`${server.base}${eventsource}/eventsource`, { method: 'GET' });
  await events.until((text) => text.includes('data: o'));
  expect((await post(`${server.base}${eventsource}/xhr_send`, '["close 4002"]')).status).toBe(204);
  await events.until((text) => text.includes('data: c[4002,"bye"]'));
  return () => streaming.abort();
}

describe('sockjs-express/metrics', () => {
  it('exposes the handler’s stats after traffic on websocket, xhr-streaming, xhr-polling and eventsource', async () => {
    const echo = sockjs({ allowedOrigins: ['https://good.example'] }, echoing);
    const server = await app({ '/echo': echo }, [4001]);
    const done = await traffic(server, '/echo');
    await request(server.base).get('/echo/info').set('Origin', 'https://evil.example').expect(403);

    const text = await scrape(server);
    const h = { handler: 'echo' };
    expect(sample(text, 'sockjs_sessions_open', { ...h, transport: 'websocket' })).toBe(1);
    expect(sample(text, 'sockjs_sessions_open', { ...h, transport: 'xhr-streaming' })).toBe(1);
    expect(sample(text, 'sockjs_sessions_open', { ...h, transport: 'xhr-polling' })).toBe(0);
    expect(sample(text, 'sockjs_sessions_open', { ...h, transport: 'eventsource' })).toBe(0);
    for (const transport of ['websocket', 'xhr-streaming', 'xhr-polling', 'eventsource']) {
      expect([transport, sample(text, 'sockjs_sessions_opened_total', { ...h, transport })]).toEqual([transport, 1]);
    }
    expect(sample(text, 'sockjs_sessions_opened_total', { ...h, transport: 'htmlfile' })).toBe(0);
    // 4001 is listed in closeCodes; 4002 is not, so it counts as "other".
    expect(sample(text, 'sockjs_sessions_closed_total', { ...h, code: '4001' })).toBe(1);
    expect(sample(text, 'sockjs_sessions_closed_total', { ...h, code: 'other' })).toBe(1);
    expect(sample(text, 'sockjs_sessions_closed_total', { ...h, code: '1000' })).toBe(0);
    expect(sample(text, 'sockjs_sessions_closed_total', { ...h, code: '4002' })).toBeUndefined();
    // In: héllo, x, €uro, close 4001, close 4002; out: the first three.
    expect(sample(text, 'sockjs_messages_received_total', h)).toBe(5);
    expect(sample(text, 'sockjs_messages_sent_total', h)).toBe(3);
    expect(sample(text, 'sockjs_received_bytes_total', h)).toBe(6 + 1 + 6 + 10 + 10);
    expect(sample(text, 'sockjs_sent_bytes_total', h)).toBe(6 + 1 + 6);
    expect(sample(text, 'sockjs_refused_total', { ...h, status: '403', by: 'handler' })).toBe(1);
    expect(sample(text, 'sockjs_sessions_closed_by_limit_total', { ...h, limit: 'queue' })).toBe(0);
    expect(sample(text, 'sockjs_buffered_bytes', h)).toBe(0);
    // No adapter: no cluster series.
    expect(text).not.toMatch(/^sockjs_cluster_relayed_requests_total\{/m);
    expect(text).toMatch(/^# TYPE sockjs_messages_received_total counter$/m);
    expect(text).toMatch(/^# TYPE sockjs_sessions_open gauge$/m);
    done();
  });

  it('keeps two handlers on one registry apart by their handler label', async () => {
    const one = sockjs(echoing);
    const two = sockjs(echoing);
    const server = await app({ '/one': one, '/two': two });
    const ws = await wsConnect(`ws://127.0.0.1:${server.port}/two${sessionPath()}/websocket`);
    expect(await ws.next()).toBe('o');
    const text = await scrape(server);
    expect(sample(text, 'sockjs_sessions_open', { handler: 'one', transport: 'websocket' })).toBe(0);
    expect(sample(text, 'sockjs_sessions_open', { handler: 'two', transport: 'websocket' })).toBe(1);
  });

  it('refuses a second handler with the same label on a registry, and a value that is not a handler', () => {
    const registry = new Registry();
    collectMetrics(sockjs(), { registry });
    expect(() => collectMetrics(sockjs(), { registry })).toThrow(/already has a handler labelled "sockjs"/);
    expect(() => collectMetrics((() => undefined) as unknown as SockJSHandler, { registry })).toThrow(/takes a handler made by sockjs\(\)/);
    expect(() => collectMetrics(sockjs(), { registry, handler: 'x', closeCodes: [99] })).toThrow(/closeCodes/);
  });

  it('stops collecting for a handler when the returned function is called', async () => {
    const registry = new Registry();
    const stop = collectMetrics(sockjs(), { registry, handler: 'gone' });
    expect(await registry.metrics()).toMatch(/handler="gone"/);
    stop();
    expect(await registry.metrics()).not.toMatch(/handler="gone"/);
  });
});

const promtool = spawnSync('promtool', ['--version']);
describeRequiring('promtool check metrics', promtool.error ? 'promtool is not installed (Debian package prometheus)' : undefined, () => {
  it('passes on the exposition after traffic, a session closing and a refusal', async () => {
    const echo = sockjs({}, echoing);
    const server = await app({ '/echo': echo }, [4001]);
    const done = await traffic(server, '/echo');
    const session = [...echo.sessions.values()][0];
    const closed = closeOf(session);
    session.close(3000, 'bye');
    await closed;
    await request(server.base).put('/echo/info').expect(405);
    const text = await scrape(server);
    expect(text).toMatch(/^sockjs_refused_total\{handler="echo",status="405",by="handler"\} 1$/m);
    const checked = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect({ status: checked.status, output: checked.stdout + checked.stderr }).toEqual({ status: 0, output: '' });
    done();
  });
});

/**
 * sockjs-client 1.6 in Node (the npm package's Node entry: faye-websocket,
 * Node's http for the xhr transports, the `eventsource` package) against the
 * test server's endpoints, one transport forced at a time.
 */
import { testEndpoints } from '../demo/test-server';
import { listen, type Running } from './helpers';
import { sockjsEcho, sockjsOpenUntilClosed, type SockJSClass } from './support/drive';
import { messages } from './support/messages';

// The package ships no types; its Node entry is the constructor.
const SockJS = require('sockjs-client') as SockJSClass;

const WAIT_MS = 20000;
jest.setTimeout(3 * WAIT_MS);

/** The transports sockjs-client offers in Node. */
const TRANSPORTS = ['websocket', 'xhr-streaming', 'xhr-polling', 'eventsource'];

let running: Running;
beforeAll(async () => {
  running = await listen(testEndpoints());
});
afterAll(() => running.close());

describe.each(TRANSPORTS)('sockjs-client in Node over %s', (name) => {
  it('opens with that transport and echoes every message unchanged and in order', async () => {
    const outcome = await sockjsEcho(SockJS, `${running.base}/echo`, name, messages, WAIT_MS);
    expect(outcome).toMatchObject({ opened: true, transport: name, error: undefined, difference: undefined });
  });

  it('receives the code and reason of a close the server starts', async () => {
    const outcome = await sockjsOpenUntilClosed(SockJS, `${running.base}/close`, name, WAIT_MS);
    expect(outcome).toMatchObject({ opened: true, transport: name, close: { code: 3000, reason: 'Go away!' } });
  });

  it(name === 'websocket' ? 'is refused where websocket is disabled' : 'works where websocket is disabled', async () => {
    const url = `${running.base}/disabled_websocket_echo`;
    if (name === 'websocket') {
      const outcome = await sockjsOpenUntilClosed(SockJS, url, name, WAIT_MS);
      expect(outcome).toMatchObject({ opened: false, close: { code: 2000, reason: 'All transports failed' } });
    } else {
      const outcome = await sockjsEcho(SockJS, url, name, ['a', 'b'], WAIT_MS);
      expect(outcome).toMatchObject({ opened: true, transport: name, error: undefined, difference: undefined });
    }
  });

  it('works against the JSESSIONID endpoint', async () => {
    const outcome = await sockjsEcho(SockJS, `${running.base}/cookie_needed_echo`, name, ['a', 'b'], WAIT_MS);
    expect(outcome).toMatchObject({ opened: true, transport: name, error: undefined, difference: undefined });
  });
});

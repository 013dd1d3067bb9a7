/**
 * Headless Chromium for the browser specs: Debian's /usr/bin/chromium driven by
 * playwright-core. Where it is absent the browser specs skip with a one-line reason,
 * unless SOCKJS_REQUIRE_SYSTEM=1 (set by .ci/run), in which case they fail.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { describeRequiring } from './requires';

/** The browser binary; `CHROMIUM_PATH` overrides Debian's. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** sockjs-client's browser build, served to pages by the browser specs and the demo. */
export { sockjsClientFile } from '../../demo/sockjs-client';

/** Every transport sockjs-client 1.6 offers in Chromium, by its own names, in its order of preference. */
export const CLIENT_TRANSPORTS = [
  'websocket',
  'xhr-streaming',
  'eventsource',
  'iframe-eventsource',
  'htmlfile',
  'iframe-htmlfile',
  'xhr-polling',
  'iframe-xhr-polling',
  'jsonp-polling',
] as const;

/** The flags this machine's closed network needs (no background fetches, no QUIC). */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

/** Why the browser specs cannot run here, or `undefined` when they can. */
export function chromiumMissing(): string | undefined {
  return existsSync(chromiumPath) ? undefined : `${chromiumPath} not found (apt-get install chromium)`;
}

/** `describe` for a block that needs Chromium (see {@link describeRequiring}). */
export function describeWithChromium(name: string, body: () => void): void {
  describeRequiring(name, chromiumMissing(), body);
}

/** Launches headless Chromium with a fresh profile. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, args: FLAGS, headless: true });
}

/**
 * sockjs-client's browser build, as the demo and the browser specs serve it:
 * from node_modules, never from a CDN.
 */

/** The file on disk (`sockjs-client/dist/sockjs.min.js`). */
export const sockjsClientFile = require.resolve('sockjs-client/dist/sockjs.min.js');

/** The URL path pages load it from; also the handler's `sockjsUrl` for the iframe transports. */
export const sockjsClientPath = '/sockjs.min.js';

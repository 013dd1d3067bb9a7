/**
 * The ES module entry of `sockjs-express/metrics`: the same module as the
 * CommonJS one, its names listed so that `__esModule` is not one of them.
 */
export { collectMetrics, KNOWN_CLOSE_CODES } from './index.js';
export type * from './index.js';

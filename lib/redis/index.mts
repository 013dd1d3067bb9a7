/**
 * The ES module entry of `sockjs-express/redis`: the same module as the
 * CommonJS one, its names listed so that `__esModule` is not one of them.
 */
export { redisAdapter } from './index.js';
export type * from './index.js';

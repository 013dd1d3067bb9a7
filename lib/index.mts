/**
 * The ES module entry: the same module as the CommonJS one, with `sockjs` as
 * the default export too (`import sockjs from 'sockjs-express'`).
 */
import { sockjs } from './index.js';

export * from './index.js';
export default sockjs;

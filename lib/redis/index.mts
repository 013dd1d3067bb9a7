/** The ES module entry of `sockjs-express/redis`: the same module as the CommonJS one. */
export * from './index.js';

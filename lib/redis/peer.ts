/**
 * Checks that `ioredis`, the optional peer dependency `sockjs-express/redis`
 * needs, is installed, before the adapter module loads it. Without it the
 * import fails with an error that says how to fix it, rather than a bare
 * "Cannot find module".
 */
try {
  require.resolve('ioredis');
} catch (cause) {
  const error = new Error('sockjs-express/redis needs ioredis, an optional peer dependency: npm install ioredis', { cause });
  // Node's own code for a missing module, so code that checks it keeps working.
  throw Object.assign(error, { code: 'MODULE_NOT_FOUND' });
}

export {};

/**
 * The check an entry with an optional peer dependency runs before it loads
 * that dependency: without it, the import fails with an error that says how
 * to fix it, rather than a bare "Cannot find module".
 */
export function requirePeer(peer: string, entry: string): void {
  try {
    require.resolve(peer);
  } catch (cause) {
    const error = new Error(`${entry} needs ${peer}, an optional peer dependency: npm install ${peer}`, { cause });
    // Node's own code for a missing module, so code that checks it keeps working.
    throw Object.assign(error, { code: 'MODULE_NOT_FOUND' });
  }
}

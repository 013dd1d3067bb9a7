/**
 * The rule for specs that need a program installed on the machine (Chromium,
 * nginx, redis-server): where it is absent they skip with a one-line reason,
 * unless SOCKJS_REQUIRE_SYSTEM=1 (set by .ci/run), in which case they fail.
 */

/** Set by CI: a missing browser, proxy or Redis server is a failure, not a skip. */
export const systemRequired = process.env.SOCKJS_REQUIRE_SYSTEM === '1';

/**
 * `describe` for a block that needs something `missing` says is absent
 * (`undefined`: nothing is missing). Without it the block is skipped with a
 * one-line reason on stderr, or, when {@link systemRequired}, replaced by a failing test.
 */
export function describeRequiring(name: string, missing: string | undefined, body: () => void): void {
  if (missing === undefined) {
    describe(name, body);
  } else if (systemRequired) {
    describe(name, () => {
      it('has what it needs (SOCKJS_REQUIRE_SYSTEM=1)', () => {
        throw new Error(`system programs required but ${missing}`);
      });
    });
  } else {
    process.stderr.write(`skipping "${name}": ${missing}\n`);
    describe.skip(name, body);
  }
}

/**
 * The rule for specs that need a program installed on the machine (Chromium,
 * nginx): where it is absent they skip with a one-line reason, unless
 * SOCKJS_REQUIRE_BROWSER=1 (set by .ci/run), in which case they fail.
 */

/** Set by CI: a missing browser or proxy is a failure, not a skip. */
export const browserRequired = process.env.SOCKJS_REQUIRE_BROWSER === '1';

/**
 * `describe` for a block that needs something `missing` says is absent
 * (`undefined`: nothing is missing). Without it the block is skipped with a
 * one-line reason on stderr, or, when {@link browserRequired}, replaced by a failing test.
 */
export function describeRequiring(name: string, missing: string | undefined, body: () => void): void {
  if (missing === undefined) {
    describe(name, body);
  } else if (browserRequired) {
    describe(name, () => {
      it('has what it needs (SOCKJS_REQUIRE_BROWSER=1)', () => {
        throw new Error(`browser specs required but ${missing}`);
      });
    });
  } else {
    process.stderr.write(`skipping "${name}": ${missing}\n`);
    describe.skip(name, body);
  }
}

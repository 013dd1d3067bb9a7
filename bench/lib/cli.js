'use strict';
/**
 * Option checks the bench scripts share: a bad command line stops the script
 * with one line saying why, and exit code 2.
 */
const fs = require('node:fs');
const path = require('node:path');

/** The checks for one script; `script` names it in the messages. */
function cli(script) {
  function usage(message) {
    console.error(`${script}: ${message}`);
    process.exit(2);
  }
  return {
    usage,
    /** Option `name`'s `value` as a number of at least `min`, a whole one when `whole`. */
    number(name, value, min, whole = false) {
      const number = Number(value);
      if (!Number.isFinite(number) || number < min || (whole && !Number.isInteger(number))) {
        usage(`--${name} must be ${whole ? 'a whole number' : 'a number'} of at least ${min}, got ${JSON.stringify(value)}`);
      }
      return number;
    },
    /** The comma-separated names in option `name`'s `value`, each one of `known`; all of `known` when it is absent. */
    names(name, value, known) {
      if (value === undefined) return known;
      const names = value.split(',');
      const unknown = names.filter((n) => !known.includes(n));
      if (unknown.length > 0) usage(`--${name}: no ${unknown.join(', ')}; choose from ${known.join(', ')}`);
      return names;
    },
    /** Stops unless `npm run build` has compiled the package into dist/. */
    needBuild() {
      if (!fs.existsSync(path.join(__dirname, '..', '..', 'dist', 'index.js'))) usage('dist/ is missing: run `npm run build` first');
    },
  };
}

module.exports = { cli };

// Jest globalTeardown: fails the run when its tests left anything in the run's temporary directory
// (see tmp_setup.js), naming what was left; the directory is removed either way. Every test removes
// what it creates, also when it fails (afterAll / finally).
const fs = require('node:fs');

module.exports = async function tmpTeardown() {
  const dir = process.env.EXT5_TEST_TMPDIR;
  if (!dir || !fs.existsSync(dir)) return;
  const left = fs.readdirSync(dir).sort();
  fs.rmSync(dir, { recursive: true, force: true });
  if (left.length > 0) {
    const shown = left.slice(0, 20).join(', ') + (left.length > 20 ? `, … (${left.length} in all)` : '');
    throw new Error(`the tests left ${left.length} entries in the temporary directory: ${shown}`);
  }
};

// Jest globalSetup: every test run gets a temporary directory of its own, made the system temp
// directory (TMPDIR) of the test processes and of everything they start, so that the teardown
// (tmp_teardown.js) can tell exactly what this run's tests left behind. Other processes on the
// machine, including other jest runs, keep writing to the real temp directory and are never seen.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

module.exports = async function tmpSetup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-test-run-'));
  process.env.EXT5_TEST_TMPDIR = dir;
  process.env.TMPDIR = dir;
};

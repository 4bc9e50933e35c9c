// Preloaded with `node -r` by e2e tests: at exit, writes whether libtorch was mapped into the
// process to the file named by EXT5_LIBS_REPORT, so tests can prove a command stayed light.
const fs = require('node:fs');

process.on('exit', () => {
  const out = process.env.EXT5_LIBS_REPORT;
  if (!out) return;
  const maps = fs.readFileSync('/proc/self/maps', 'utf8');
  fs.writeFileSync(out, JSON.stringify({ libtorch: /libtorch(_cpu)?\.so/.test(maps) }));
});

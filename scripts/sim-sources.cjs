// Lists the sim backend's C++ sources (native/sim and its subfolders) for binding.gyp, so a
// new kernel file is compiled without editing the build files.
const fs = require('node:fs');
const path = require('node:path');

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) return walk(full);
    return entry.name.endsWith('.cc') ? [full] : [];
  });
}

module.exports = walk('native/sim').sort();

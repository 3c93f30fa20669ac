// Copies the Lua scripts next to the compiled modules: tsc emits only .js/.d.ts.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

function walk(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const from = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(from);
    else if (entry.name.endsWith('.lua')) {
      const to = path.join('dist', path.relative('src', from));
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.copyFileSync(from, to);
    }
  }
}
walk('src');

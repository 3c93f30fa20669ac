// Cheap checks tsc does not make: no focused/skipped specs, every .lua file documents KEYS/ARGV.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const problems = [];
function walk(dir, fn) {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, fn);
    else fn(p);
  }
}
walk('spec', (p) => {
  if (!p.endsWith('.ts')) return;
  const text = fs.readFileSync(p, 'utf8');
  if (/\b(it|describe)\.(only|skip)\(|\bx(it|describe)\(/.test(text)) problems.push(`${p}: .only/.skip left in a spec`);
});
walk('src', (p) => {
  if (!p.endsWith('.lua')) return;
  const head = fs.readFileSync(p, 'utf8').slice(0, 600);
  if (!/KEYS/.test(head) || !/ARGV/.test(head)) problems.push(`${p}: a Lua script must start with a block listing KEYS and ARGV`);
});
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}

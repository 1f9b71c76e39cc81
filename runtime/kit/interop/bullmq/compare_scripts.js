// Compares the Lua scripts of the installed Node bullmq with those embedded in a Rust
// bullmq-official source tree. argv[2]: the crate's src/commands directory.
// Prints {"node": <version>, "same": [...], "different": [...], "onlyNode": [...], "onlyRust": [...]}.
'use strict';
const fs = require('fs');
const path = require('path');

const rustDir = process.argv[2];
const scriptsDir = path.join(path.dirname(require.resolve('bullmq/package.json')), 'dist/cjs/scripts');
const node = {};
for (const file of fs.readdirSync(scriptsDir)) {
  if (!file.endsWith('.js') || file === 'index.js') continue;
  const script = Object.values(require(path.join(scriptsDir, file)))[0];
  if (script && script.content) node[`${script.name}-${script.keys}.lua`] = script.content;
}
const rust = {};
for (const file of fs.readdirSync(rustDir)) {
  if (file.endsWith('.lua')) rust[file] = fs.readFileSync(path.join(rustDir, file), 'utf8');
}
const result = { node: require('bullmq/package.json').version, same: [], different: [], onlyNode: [], onlyRust: [] };
for (const name of Object.keys(node).sort()) {
  if (!(name in rust)) result.onlyNode.push(name);
  else if (rust[name] === node[name]) result.same.push(name);
  else result.different.push(name);
}
for (const name of Object.keys(rust).sort()) if (!(name in node)) result.onlyRust.push(name);
process.stdout.write(JSON.stringify(result) + '\n');

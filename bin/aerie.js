#!/usr/bin/env node
// The `aerie` command as npm links it (package.json "bin"). It lives outside dist/ so that its
// run bit, which git keeps, survives every rebuild: `npm test` deletes dist/ and tsc writes
// files without one, which left `npx aerie` failing with "Permission denied".
'use strict';
const { main } = require('../dist/src/cli/main.js');

main(process.argv.slice(2)).then((code) => {
  if (code !== null) process.exitCode = code;
});

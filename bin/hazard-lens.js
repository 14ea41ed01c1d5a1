#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI is bundled by `npm run build` (run by `npm ci` through `prepare`).
const path = require('node:path');
const fs = require('node:fs');
const bundle = path.join(__dirname, '..', 'dist', 'cli', 'cli.js');
if (!fs.existsSync(bundle)) {
  process.stderr.write('hazard-lens: the CLI is not built yet; run `npm run build` first\n');
  process.exit(2);
}
require(bundle);

#!/usr/bin/env node
'use strict';
// The CLI bundle is built by `npm run build` (esbuild); see server/src/cli.ts.
require('../server/out/cli.js').run();

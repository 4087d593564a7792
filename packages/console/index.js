'use strict';
// The console is a set of static files built by Vite (dist/). This CommonJS entry only says where they
// are, so a server (the cli's console routes, or a host service) can serve them; it loads no UI code.
const path = require('node:path');

/** Absolute path of the built console: index.html and assets/. */
exports.assetsDir = path.join(__dirname, 'dist');

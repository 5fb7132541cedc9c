#!/usr/bin/env node
// The `citybrain` command. A committed launcher, so npm can link the bin at
// install time, before the TypeScript build has produced dist/.
import '../dist/main.js';

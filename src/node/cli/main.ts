#!/usr/bin/env node
/** The `sockline` command. */
process.stdout.write('sockline\n');

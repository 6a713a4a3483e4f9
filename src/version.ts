import { createRequire } from 'node:module';

/** The package version, reported by nodes and `tollgate --version`. */
export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

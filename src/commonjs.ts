/**
 * Modules taken with require() instead of `import`, because an ESM import of them costs idle memory
 * the server never uses (docs/development.md, "Memory"). Types still come from their declarations.
 *
 * - `node:http`: an ESM import reads every export of a built-in module to fill its namespace. On
 *   Node 24 three of node:http's exports (WebSocket, CloseEvent, MessageEvent) are getters that load
 *   undici and node:tls: about 7 MiB of idle RSS for a WebSocket client nobody calls.
 * - better-sqlite3 and express-session: an ESM import of a CommonJS package has Node scan its source
 *   for export names first (cjs-module-lexer, in JavaScript). With these two beside Express the scan
 *   runs long enough at start for V8 to optimise the scanner: a 150 ms compile on the worker thread
 *   whose scratch memory (a 5.7 MiB peak) that thread's allocator keeps partly resident, 1 to 4 MiB.
 */

import type * as Http from 'node:http';
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import type ExpressSession from 'express-session';
import type ParseUrl from 'parseurl';
import type ProxyAddr from 'proxy-addr';

const require = createRequire(import.meta.url);

export const http = require('node:http') as typeof Http;
export const Database = require('better-sqlite3') as typeof BetterSqlite3;
export const session = require('express-session') as typeof ExpressSession;
// Express's own two, for the front door (http/path-table.ts) to read a URL and an address as it does.
export const parseUrl = require('parseurl') as typeof ParseUrl;
export const proxyAddr = require('proxy-addr') as typeof ProxyAddr;

// Rewrites the generated tables of docs/http-api.md (routes, request fields, error statuses) from
// the code: `npx tsx scripts/http-api-doc.ts`. src/api/doc.test.ts fails while the file is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { renderHttpApiDoc } from '../src/api/doc.js';

const path = new URL('../docs/http-api.md', import.meta.url);
const before = readFileSync(path, 'utf8');
const after = renderHttpApiDoc(before);
writeFileSync(path, after);
console.log(before === after ? 'docs/http-api.md: up to date' : 'docs/http-api.md: rewritten');

// `npm run openapi`: writes docs/openapi.json from the route tables and the response contracts,
// and the typed client's types (clients/typescript/src/schema.ts) from it.
// `npm run openapi -- --release` also records it as the last released document (versioning).
import { copyFile, writeFile } from 'node:fs/promises';
import { CLIENT_TYPES_PATH, clientTypesText } from '../shared/contract/client-types.ts';
import {
  buildDocument,
  DOCUMENT_PATH,
  documentText,
  loadRouteTables,
  RELEASED_DOCUMENT_PATH,
} from '../shared/contract/openapi.ts';

const { document, missingContracts, unusedContracts } = buildDocument(await loadRouteTables());
if (missingContracts.length > 0 || unusedContracts.length > 0) {
  console.error('Routes without a contract:', missingContracts);
  console.error('Contracts without a route:', unusedContracts);
  process.exit(1);
}
await writeFile(DOCUMENT_PATH, documentText(document));
console.log(`wrote ${DOCUMENT_PATH}`);
await writeFile(CLIENT_TYPES_PATH, await clientTypesText(document));
console.log(`wrote ${CLIENT_TYPES_PATH}`);
if (process.argv.includes('--release')) {
  await copyFile(DOCUMENT_PATH, RELEASED_DOCUMENT_PATH);
  console.log(`released as ${RELEASED_DOCUMENT_PATH}`);
}
process.exit(0);

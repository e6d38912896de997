// The API's version (semver), carried by the document's info.version. A breaking change to the
// document (removed operation, removed or newly required field, changed type) needs a new major
// version: test/contract/versioning.test.ts compares with docs/openapi.released.json.
export const API_VERSION = '1.0.0';

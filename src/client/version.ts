// The SDK's version, sent in HELLO as `aerie-ts/<version>`. test/client/version.test.ts keeps it
// equal to package.json's, which is not read at run time because its path differs once compiled.
export const CLIENT_VERSION = '0.1.0';

// Koop (Esri's open-source Geoservices server) on 127.0.0.1 for the harvester's interop tests.
//   node server.js PORT DATA_DIR
// Every DATA_DIR/NAME.geojson is a FeatureServer with one layer at
// /file-geojson/rest/services/NAME/FeatureServer. The provider resolves
// DATA_DIR against the working directory, so pass a relative path.
'use strict';
const Koop = require('@koopjs/koop-core');
const provider = require('@koopjs/provider-file-geojson');

const [port, dataDir] = process.argv.slice(2);
if (!port || !dataDir) {
  console.error('usage: node server.js PORT DATA_DIR');
  process.exit(2);
}
const koop = new Koop({ logLevel: 'warn' });
koop.register(provider, { dataDir });
const server = koop.server.listen(Number(port), '127.0.0.1', () => {
  console.log(`Koop serving ${dataDir} on http://127.0.0.1:${port}/file-geojson/rest/services`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}

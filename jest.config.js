// force timezone to UTC to allow tests to work regardless of local timezone
// generally used by snapshots, but can affect specific tests
process.env.TZ = 'UTC';

const base = require('./.config/jest.config');
const { grafanaESModules, nodeModulesToTransform } = require('./.config/jest/utils');

const swc = base.transform['^.+\\.(t|j)sx?$'];

module.exports = {
  // Jest configuration provided by Grafana scaffolding
  ...base,
  transform: {
    ...base.transform,
    // d3-color and friends ship only ESM (.mjs) in the versions @grafana/* 12.4 pull in.
    '^.+\\.mjs$': swc,
  },
  moduleFileExtensions: ['js', 'mjs', 'cjs', 'jsx', 'ts', 'tsx', 'json', 'node'],
  // The first test of a file pays for importing @grafana/ui, which takes
  // several seconds on a busy 2-core CI machine; 5 s (Jest's default) flakes.
  testTimeout: 60000,
  transformIgnorePatterns: [nodeModulesToTransform([...grafanaESModules, 'internmap', 'robust-predicates'])],
};

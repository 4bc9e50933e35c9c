// Three layers, run in dependency order: pure TypeScript, the native addon, the CLI end to end.
const esmPackages = ['hyparquet', 'hyparquet-compressors', 'hysnappy', 'fzstd'];
const transform = {
  '^.+\\.(ts|js|mjs)$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs', isolatedModules: true } }],
};
const common = {
  testEnvironment: 'node',
  transform,
  transformIgnorePatterns: [`node_modules/(?!(${esmPackages.join('|')})/)`],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json', 'node'],
};
module.exports = {
  // A private temporary directory per run; the run fails if a test leaves anything in it.
  globalSetup: '<rootDir>/test/jest/tmp_setup.js',
  globalTeardown: '<rootDir>/test/jest/tmp_teardown.js',
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'native', testMatch: ['<rootDir>/test/native/**/*.test.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
  ],
};

// Type-aware lint, zero warnings (npm run lint). The one architectural rule: server/src/core is
// pure and imports nothing of LSP or VS Code (ARCHITECTURE.md invariant).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/out/**', 'node_modules/**', 'media/vendor/**', '.vscode-test/**', 'scripts/**', 'bin/**', 'test/fixtures/**', 'bench/data/**', '*.mjs', 'media/**/*.js'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's test()/describe() return promises the runner awaits itself.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', name: ['test', 'it', 'describe', 'suite', 'before', 'after'], package: 'node:test' }] },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['server/src/**/*.ts'],
    ignores: ['server/src/cli.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    files: ['server/src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['vscode', 'vscode-languageserver*', 'vscode-languageclient*', 'vscode-jsonrpc*'], message: 'server/src/core is pure: no LSP or VS Code imports.' },
            { group: ['node:fs', 'fs', 'node:child_process', 'child_process', 'node:net', 'net'], message: 'server/src/core does no I/O: inject it.' },
          ],
        },
      ],
    },
  },
);

// Lint for src/ and test/: typescript-eslint's strict rules, and no failure turned into silence.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** A handler that takes no error cannot tell the failure it expects from any other. */
const SILENT = [
  {
    selector: "CallExpression[callee.property.name='catch'] > ArrowFunctionExpression[params.length=0]",
    message: 'a .catch handler must take the error and rethrow what it does not expect',
  },
  {
    selector: "CallExpression[callee.property.name='then'][arguments.length=2] > ArrowFunctionExpression.arguments:nth-child(2)[params.length=0]",
    message: 'a rejection handler must take the error and rethrow what it does not expect',
  },
  {
    selector: 'CatchClause[param=null]',
    message: 'a catch must bind the error and rethrow what it does not expect',
  },
];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'output/', 'mkosi.*/', 'bench/', '.gitlab-ci-local/', '**/*.mjs', '**/.dependency-cruiser.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    files: ['**/*.ts'],
    rules: {
      'no-empty': ['error', { allowEmptyCatch: false }],
      // Control bytes are what boxes escapes and strips (printable(), serial logs): matching them is the point.
      'no-control-regex': 'off',
      'no-restricted-syntax': ['error', ...SILENT],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
);

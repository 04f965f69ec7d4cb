// @ts-check
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// ---- Layers: who may import what (see docs/ARCHITECTURE.md) ----------------------------------------

const electron = {
  paths: [
    { name: 'electron', message: 'Only src/main/shell/, src/main/index.ts and src/preload/ may import electron.' },
  ],
  patterns: [
    { group: ['electron/*'], message: 'Only src/main/shell/, src/main/index.ts and src/preload/ may import electron.' },
  ],
};

/** @param {string} who */
const nodeBuiltins = (who) => ({
  paths: builtinModules.map((name) => ({ name, message: `${who} may not import Node built-ins.` })),
  patterns: [{ regex: '^node:', message: `${who} may not import Node built-ins.` }],
});

/** @param {...{ paths?: object[]; patterns?: object[] }} parts */
const restrict = (...parts) => [
  'error',
  { paths: parts.flatMap((p) => p.paths ?? []), patterns: parts.flatMap((p) => p.patterns ?? []) },
];

const nodeGlobals = Object.fromEntries(
  ['console', 'process', 'Buffer', 'URL', 'setTimeout', 'clearTimeout', 'setImmediate', 'structuredClone'].map(
    (name) => [name, 'readonly'],
  ),
);

export default tseslint.config(
  { ignores: ['out/', 'dist/', 'node_modules/', 'coverage/'] },

  js.configs.recommended,
  ...tseslint.configs.recommended,

  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },

  // Plain JS (configs, scripts): not in a tsconfig, so no type-aware rules.
  {
    files: ['**/*.{js,mjs,cjs}'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: nodeGlobals },
  },

  // The bin launcher is CommonJS: it must run without a build step or a loader.
  {
    files: ['bin/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { ...nodeGlobals, require: 'readonly', module: 'writable' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },

  // Later blocks override earlier ones for the same rule, so each block lists everything its files may not use.
  {
    // Nothing outside the shell, the composition root and the preload imports electron.
    files: ['**/*.{ts,tsx,mts,cts,js,mjs,cjs}'],
    ignores: ['src/main/shell/**', 'src/main/index.ts', 'src/preload/**'],
    rules: { 'no-restricted-imports': restrict(electron) },
  },
  {
    files: ['src/main/engine/**', 'src/main/cli/**', 'src/main/server/**'],
    rules: { 'no-restricted-imports': restrict(electron) },
  },
  // Zones inside the engine (issue 20): providers hold protocol knowledge only (pace, progress and
  // cancellation reach them through TransferOpts), and the planner is a pure function of its input.
  {
    files: ['src/main/engine/providers/**'],
    rules: {
      'no-restricted-imports': restrict(electron, {
        patterns: [
          {
            regex: '^(\\.\\./)+(transfer|plan|store)(/|$)',
            message:
              'Providers import nothing from transfer/, plan/ or store/: what they need comes in ProviderDeps and TransferOpts.',
          },
        ],
      }),
    },
  },
  {
    files: ['src/main/engine/plan/**'],
    rules: { 'no-restricted-imports': restrict(electron, nodeBuiltins('The planner (src/main/engine/plan)')) },
  },
  {
    files: ['src/shared/**'],
    rules: {
      'no-restricted-imports': restrict(electron, nodeBuiltins('src/shared'), {
        paths: [{ name: 'react-dom', message: 'src/shared may not import react-dom.' }],
        patterns: [{ group: ['react-dom/*'], message: 'src/shared may not import react-dom.' }],
      }),
    },
  },
  {
    files: ['src/renderer/**'],
    rules: { 'no-restricted-imports': restrict(electron, nodeBuiltins('src/renderer')) },
  },
  {
    // A sandboxed preload cannot require Node built-ins at run time; bundle-able code only.
    files: ['src/preload/**'],
    rules: { 'no-restricted-imports': restrict(nodeBuiltins('A sandboxed preload (src/preload)')) },
  },
);

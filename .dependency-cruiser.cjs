// The server's layers, checked by `npm run lint:layers` (part of `npm test`): each folder of
// server/src may import only the folders below it, no file may be part of an import cycle,
// and only lsp/ may use the language-server protocol library. README "Architecture" draws
// the same picture.

/** Bottom to top. A folder may import itself and the folders listed before it. */
const LAYERS = [
  ['text', 'positions, ranges, edits: the vocabulary every layer shares'],
  ['knowledge', 'data tables about libraries and APIs'],
  ['parsing', 'tree-sitter: the only code that touches it'],
  ['facts', 'per-file facts the program model links'],
  ['analysis', 'flow graphs, the leak path search, per-file analyses, findings'],
  ['model', 'the program model across files'],
  ['rules', 'one file per rule, and the registry'],
  ['engine', 'runs rules: configuration, suppressions, fixes, cache'],
  ['scan', 'walks a workspace and reports'],
  ['lsp', 'the language server'],
  ['cli', 'the command line (it also starts the language server)'],
];

const upward = LAYERS.map(([name, job], i) => ({
  name: `layer-${name}`,
  comment: `${name}/ (${job}) may only import the layers below it: ${LAYERS.slice(0, i).map(([n]) => n).join(', ') || 'none'}`,
  severity: 'error',
  from: { path: `^server/src/${name}/` },
  to: { path: `^server/src/(${LAYERS.slice(i + 1).map(([n]) => n).join('|') || '$^'})/` },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...upward.filter((r) => !r.to.path.includes('$^')),
    {
      name: 'no-cycle',
      comment: 'Files that import each other cannot be read, tested or changed alone.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'protocol-only-in-lsp',
      comment: 'The engine, rules, facts and scanner run without a connection (CLI, tests); only lsp/ speaks LSP.',
      severity: 'error',
      from: { path: '^server/src/', pathNot: '^server/src/lsp/' },
      to: { path: '(^|/)node_modules/vscode-languageserver' },
    },
    {
      name: 'no-unlayered-folder',
      comment: 'Every folder of server/src belongs to a layer (add a new one to LAYERS).',
      severity: 'error',
      from: { path: '^server/src/' },
      to: { path: '^server/src/', pathNot: `^server/src/(${LAYERS.map(([n]) => n).join('|')})/` },
    },
    {
      name: 'no-unlayered-importer',
      comment: 'Every folder of server/src belongs to a layer (add a new one to LAYERS).',
      severity: 'error',
      from: { path: '^server/src/', pathNot: `^server/src/(${LAYERS.map(([n]) => n).join('|')})/` },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};

/**
 * The top-level help, in a module that imports nothing of the analyser: `hazard-lens`,
 * `--help` and `--version` answer from here before the CLI loads it (cli/main.ts).
 */
import { PRODUCT_COMMAND } from '../scan/reporters/product';

export const MAIN_HELP = `Usage: ${PRODUCT_COMMAND} <command> [options]

Finds concurrency and resource-lifetime hazards in C, Python and TypeScript.

Commands:
  scan [paths...]   Analyse files and directories (default: the current directory)
  rules [id]        List the rules, or explain one rule (its documentation)
  lsp --stdio       Run the language server over stdin/stdout

Options:
  -h, --help        Show help (also: ${PRODUCT_COMMAND} <command> --help)
  -V, --version     Print the version

Exit codes: 0 no finding at or above the severity threshold, 1 findings at or above it,
2 usage or internal error.
`;

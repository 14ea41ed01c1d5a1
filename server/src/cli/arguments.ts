/**
 * The command line's options and the argument errors found from them alone, in a module that
 * imports nothing of the analyser: `bin/hazard-lens.js scan --bogus` is rejected by
 * `main.ts` before the rest of the CLI is loaded (issue #17, start-up); `cli.ts` parses
 * with the same tables, so both give the same message.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { PRODUCT_COMMAND } from '../scan/reporters/product';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export const SCAN_OPTIONS: OptionSpec = {
    format: { type: 'string', short: 'f' },
    output: { type: 'string', short: 'o' },
    'severity-threshold': { type: 'string' },
    config: { type: 'string', short: 'c' },
    fix: { type: 'boolean' },
    'unsafe-fixes': { type: 'boolean' },
    diff: { type: 'boolean' },
    select: { type: 'string', multiple: true },
    ignore: { type: 'string', multiple: true },
    statistics: { type: 'boolean' },
    baseline: { type: 'string' },
    'write-baseline': { type: 'string' },
    'max-file-size': { type: 'string' },
    'target-platform': { type: 'string' },
    'python-env': { type: 'string' },
    'node-modules': { type: 'string' },
    exclude: { type: 'string', multiple: true },
    'no-gitignore': { type: 'boolean' },
    'force-exclude': { type: 'boolean' },
    'follow-external-symlinks': { type: 'boolean' },
    quiet: { type: 'boolean', short: 'q' },
    jobs: { type: 'string', short: 'j' },
    'cache-dir': { type: 'string' },
    'no-cache': { type: 'boolean' },
    // Hidden (tests, benchmarks): results are the same without the keyword prefilter.
    'no-prefilter': { type: 'boolean' },
    stats: { type: 'boolean' },
    shard: { type: 'string' },
    'facts-out': { type: 'string' },
    facts: { type: 'string', multiple: true },
    help: { type: 'boolean', short: 'h' },
};

export const RULES_OPTIONS: OptionSpec = { format: { type: 'string', short: 'f' }, config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } };

export const LSP_OPTIONS: OptionSpec = { stdio: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } };

const COMMAND_OPTIONS: Record<string, OptionSpec> = { scan: SCAN_OPTIONS, rules: RULES_OPTIONS, lsp: LSP_OPTIONS };

/** The message for an unknown top-level option (`hazard-lens --bogus`). */
export function unknownOption(option: string): string {
  return `unknown option '${option}'\nRun '${PRODUCT_COMMAND} --help' for usage.`;
}

/** The message for an unknown command. */
export function unknownCommand(command: string): string {
  return `unknown command '${command}' (commands: scan, rules, lsp)\nRun '${PRODUCT_COMMAND} --help' for usage.`;
}

/**
 * Our wording for `parseArgs`'s errors (Node's messages are written for programmers: they
 * quote option specs such as `-f, --format <value>` and suggest `--`).
 */
export function argumentProblem(err: unknown, options: OptionSpec): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? '';
  // `-f, --format <value>` → `--format`
  const flag = /--[\w-]+/.exec(quoted)?.[0] ?? quoted;
  const name = flag.replace(/^-+/, '');
  const spec = options[name] ?? Object.values(options).find((o) => `-${o.short}` === flag);
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option '${quoted}'`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return spec?.type === 'boolean' ? `option '${flag}' takes no value` : `option '${flag}' needs a value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument '${quoted}'`;
    default:
      return 'invalid arguments';
  }
}

/**
 * The usage error `runCli` would report for `argv` that the option tables alone show (an
 * unknown command or option, an option without its value), or undefined: what needs more
 * (values, paths, the configuration) is left to `runCli`.
 */
export function earlyUsageProblem(argv: readonly string[]): string | undefined {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '-h' || command === '--help' || command === '-V' || command === '--version') return undefined;
  const options = Object.hasOwn(COMMAND_OPTIONS, command) ? COMMAND_OPTIONS[command] : undefined;
  if (!options) return command.startsWith('-') ? unknownOption(command) : unknownCommand(command);
  try {
    parseArgs({ args: [...rest], options, allowPositionals: true, strict: true });
  } catch (err) {
    return `${argumentProblem(err, options)}\nRun '${PRODUCT_COMMAND} ${command} --help' for usage.`;
  }
  return undefined;
}

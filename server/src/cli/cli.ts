/**
 * The command line: `hazard-lens scan|rules|lsp`. Arguments are parsed with `node:util`
 * `parseArgs`; the report goes to stdout (or `--output`), everything else to stderr.
 *
 * Exit codes: 0 no finding at or above the severity threshold, 1 findings at or above it,
 * 2 usage error (bad flag or value, missing path or config file) or internal error.
 */
import { C_PLATFORMS, DEFAULT_C_PLATFORM, type CPlatform } from '../knowledge/c-platforms';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { argumentProblem, LSP_OPTIONS, unknownCommand, unknownOption, RULES_OPTIONS, SCAN_OPTIONS, type OptionSpec } from './arguments';
import { defaultCacheDir } from '../engine/cache';
import { makeDirectory, writableFolderProblem } from '../engine/directories';
import { docsUrl, type HazardLensConfig } from '../engine/config';
import { atLeast, evaluate } from '../engine/engine';
import type { Severity } from '../analysis/results';
import { SUPPORTED_EXTENSIONS } from '../parsing/parser';
import { RULES, ruleById } from '../rules/index';
import { PRODUCT_COMMAND, PRODUCT_VERSION, displayPath, plural, type Colors } from '../scan/reporters/common';
import { summaryLine } from '../scan/reporters/text';
import { baselineText, buildBaseline, parseBaseline, withoutBaseline } from '../engine/baseline';
import { chooseFix } from '../engine/fixes';
import type { Finding } from '../analysis/results';
import { ruleDocText } from '../scan/rule-docs';
import { sourceTexts } from '../scan/source-texts';
import { createTwoFilesPatch } from 'diff';
import { colorsFor, wantsColor } from './colors';
import { MAIN_HELP } from './main-help';
import { selectRules, SelectionError } from './select';
import { formatReport, REPORT_FORMATS, type ReportFormat } from '../scan/reporters/index';
import { FactsFileError, joinFactsFiles, parseShard, writeFactsFile } from '../scan/facts-file';
import { ENCODING_LABELS, type SourceEncoding } from '../scan/read';
import { defaultJobs } from '../scan/pool';
import { findPythonEnvironment, NO_ENVIRONMENT } from '../scan/python-environment';
import { findNodeModules, NO_NODE_MODULES } from '../scan/node-modules';
import { emptyScanStats, extractFacts, scan, type ScanResult, type ScanStats, type Shard } from '../scan/scanner';
import { CONFIG_FILE_NAME, loadConfig, NestedConfigError } from './config-file';
import { ProgressLine, type ProgressStream } from './progress';
import { shownPath } from '../text/file-names';

export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_USAGE = 2;
/** The shell's code for a process ended by Ctrl-C (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

export interface CliIo {
  stdout: { write(chunk: string): unknown; isTTY?: boolean };
  stderr: ProgressStream;
  cwd: string;
  /** The environment (NO_COLOR, FORCE_COLOR, TERM); default: none set. */
  env?: NodeJS.ProcessEnv;
  /**
   * Calls `cleanup` on Ctrl-C (SIGINT) before the process exits with 130; returns a function
   * that removes the handler. Injected so that tests of `runCli` install no signal handler.
   */
  onInterrupt?: (cleanup: () => void) => () => void;
  /** Starts the language server on stdio (injected so the scan path does not load it). */
  startLanguageServer?: () => void | Promise<void>;
  /** The process runs this one command and ends (bin/hazard-lens.js, not a test): see `ScanOptions.quickStart`. */
  oneShotProcess?: boolean;
}

const SEVERITY_THRESHOLDS: readonly Severity[] = ['error', 'warning', 'info', 'hint'];
const DEFAULT_THRESHOLD: Severity = 'warning';

const SCAN_HELP = `Usage: ${PRODUCT_COMMAND} scan [paths...] [options]

Analyses the given files and directories (default: the current directory). Directories are
walked for ${SUPPORTED_EXTENSIONS.join(' ')} files and for scripts without an extension
whose #! line runs python or node (only that line is read), honouring .gitignore files and
the configuration's "exclude"; node_modules, .git, .hg and .svn are never entered. Files named
explicitly are analysed even when an ignore pattern matches them (see --force-exclude).

Options:
  -f, --format FORMAT             text (default), json, sarif, github (annotations),
                                  gitlab (Code Quality) or junit (XML)
  -o, --output FILE               Write the report to FILE instead of stdout (the summary
                                  still goes to stderr)
      --severity-threshold LEVEL  Exit with 1 when a finding is at or above LEVEL:
                                  error, warning (default), info or hint
  -c, --config FILE               Configuration file (default: the nearest .hazard-lens.json in
                                  the scanned folder or above it, and nested ones for their folders)
      --fix                       Apply safe fixes (also of cross-file findings), write the
                                  files back, report what remains
      --unsafe-fixes              With --fix or --diff: apply unsafe fixes too (they change
                                  behaviour; review them)
      --diff                      Print the fixes --fix would apply as unified diffs and write
                                  nothing; exit 1 when there is a fix, 0 when there is none
      --select RULES              Only these rules: ids or families (FORK, FD, HEARTBEAT,
                                  LEAK), comma-separated or repeated
      --ignore RULES              Not these rules (ids or families), after --select
      --statistics                Print the number of findings per rule instead of the report
      --baseline FILE             Do not report the findings recorded in FILE (written by
                                  --write-baseline; default: config "baseline")
      --write-baseline FILE       Record every finding in FILE and exit 0 (findings are matched
                                  by rule, file and the text of their lines, not line numbers)
      --max-file-size KB          Skip files larger than KB kilobytes (default: config, 1024)
      --target-platform NAME      Platform C code is judged for: ${C_PLATFORMS.join(', ')} (default: config, linux)
      --python-env DIR            Python environment whose installed packages join the program
                                  model (a virtualenv); 'none' for none (default: config
                                  "pythonEnvironment", else $VIRTUAL_ENV or .venv/venv/env)
      --node-modules DIR          node_modules folder whose installed packages join the program
                                  model; 'none' for none (default: config "nodeModules", else
                                  the node_modules folders Node would look in)
      --exclude PATTERN           Also exclude PATTERN (gitignore syntax; repeatable)
      --no-gitignore              Do not read .gitignore files
      --force-exclude             Apply ignore patterns to paths named on the command line too
      --follow-external-symlinks  Follow symbolic links that lead out of the scanned folders
                                  (skipped and reported by default)
  -q, --quiet                     Print the report only: no progress, skipped files, notes or summary
  -j, --jobs N                    Worker threads that analyse files (default: config "jobs", else
                                  one per CPU); 0 analyses in the main thread
      --cache-dir DIR             Cache folder for analyses and the last evaluation (default:
                                  config "cacheDir", else $XDG_CACHE_HOME/hazard-lens or
                                  ~/.cache/hazard-lens)
      --no-cache                  Neither read nor write the cache
      --stats                     Print one JSON line of scan statistics to stderr at the end
      --shard I/N                 Analyse only shard I of N (by a hash of each file's path)
                                  and write its facts to --facts-out FILE; no report
      --facts-out FILE            With --shard: where the shard's facts go
      --facts FILE...             Join the facts files of every shard (given here and as the
                                  remaining arguments) and report as one scan would
  -h, --help                      Show this help

All findings are reported; the threshold only decides the exit code.
`;

const RULES_HELP = `Usage: ${PRODUCT_COMMAND} rules [id] [options]

Lists the rules with their languages, severity, summary and documentation URL; with a rule
id, explains that rule (its documentation page).

Options:
  -f, --format FORMAT   text (default) or json
  -c, --config FILE     Configuration file (severity overrides, docsUrlTemplate)
  -h, --help            Show this help
`;

const LSP_HELP = `Usage: ${PRODUCT_COMMAND} lsp --stdio

Runs the Hazard Lens language server, speaking LSP over stdin and stdout.
`;

class UsageError extends Error {}

/** A message of several lines, each one prefixed with the command name as the first is (`hazard-lens: `). */
function eachLine(message: string): string {
  return message.split('\n').join(`\n${PRODUCT_COMMAND}: `);
}

function parse(args: string[], options: OptionSpec, command: string) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${argumentProblem(err, options)}\nRun '${PRODUCT_COMMAND} ${command} --help' for usage.`);
  }
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string, fallback: T): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`invalid value '${value}' for ${flag}: expected one of ${allowed.join(', ')}`);
}

/** Runs the CLI and resolves to the exit code. Never throws. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const err = (line: string) => io.stderr.write(`${PRODUCT_COMMAND}: ${line}\n`);
  try {
    const [command, ...rest] = argv;
    switch (command) {
      case undefined:
        io.stderr.write(MAIN_HELP);
        return EXIT_USAGE;
      case '-h':
      case '--help':
        io.stdout.write(MAIN_HELP);
        return EXIT_OK;
      case 'help':
        return runHelp(rest, io);
      case '-V':
      case '--version':
        io.stdout.write(`${PRODUCT_COMMAND} ${PRODUCT_VERSION}\n`);
        return EXIT_OK;
      case 'scan':
        return await runScan(rest, io);
      case 'rules':
        return runRules(rest, io);
      case 'lsp':
        return await runLsp(rest, io);
      default:
        throw new UsageError(
          command.startsWith('-')
            ? unknownOption(command)
            : unknownCommand(command),
        );
    }
  } catch (e) {
    if (e instanceof UsageError || e instanceof NestedConfigError) {
      err(e instanceof NestedConfigError ? eachLine(e.message) : e.message);
      return EXIT_USAGE;
    }
    err(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return EXIT_USAGE;
  }
}

function runHelp(rest: string[], io: CliIo): number {
  const topic = rest[0];
  const text = topic === 'scan' ? SCAN_HELP : topic === 'rules' ? RULES_HELP : topic === 'lsp' ? LSP_HELP : topic === undefined ? MAIN_HELP : undefined;
  if (text === undefined) throw new UsageError(`no help for '${topic}' (commands: scan, rules, lsp)`);
  io.stdout.write(text);
  return EXIT_OK;
}

function reportConfigProblems(problems: string[], io: CliIo): void {
  for (const p of problems) io.stderr.write(`${PRODUCT_COMMAND}: warning: ${p}\n`);
}

async function runScan(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, SCAN_OPTIONS, 'scan');
  if (values.help) {
    io.stdout.write(SCAN_HELP);
    return EXIT_OK;
  }
  const format = oneOf<ReportFormat>(values.format as string | undefined, REPORT_FORMATS, '--format', 'text');
  const threshold = oneOf<Severity>(values['severity-threshold'] as string | undefined, SEVERITY_THRESHOLDS, '--severity-threshold', DEFAULT_THRESHOLD);
  let maxFileSizeKb: number | undefined;
  const rawSize = values['max-file-size'] as string | undefined;
  if (rawSize !== undefined) {
    if (!/^\d+$/.test(rawSize) || Number(rawSize) < 1 || Number(rawSize) > 1024 * 1024) {
      throw new UsageError(`invalid value '${rawSize}' for --max-file-size: expected a whole number of kilobytes from 1 to 1048576`);
    }
    maxFileSizeKb = Number(rawSize);
  }
  const rawPlatform = values['target-platform'] as string | undefined;
  const targetPlatform = rawPlatform === undefined ? undefined : oneOf<CPlatform>(rawPlatform, C_PLATFORMS, '--target-platform', DEFAULT_C_PLATFORM);
  const output = values.output as string | undefined;
  if (output !== undefined && output.length === 0) throw new UsageError('--output needs a file name');
  const quiet = values.quiet === true;
  let jobs: number | undefined;
  const rawJobs = values.jobs as string | undefined;
  if (rawJobs !== undefined) {
    if (!/^\d+$/.test(rawJobs) || Number(rawJobs) > 256) throw new UsageError(`invalid value '${rawJobs}' for --jobs: expected a whole number from 0 to 256`);
    jobs = Number(rawJobs);
  }
  const cacheDirFlag = values['cache-dir'] as string | undefined;
  if (cacheDirFlag !== undefined && cacheDirFlag.length === 0) throw new UsageError('--cache-dir needs a folder name');
  let shard: Shard | undefined;
  const factsOut = values['facts-out'] as string | undefined;
  const factsIn = values.facts as string[] | undefined;
  try {
    if (values.shard !== undefined) shard = parseShard(values.shard as string);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (shard && (factsOut === undefined || factsOut.length === 0)) throw new UsageError('--shard needs --facts-out FILE (where the shard\'s facts are written)');
  if (!shard && factsOut !== undefined) throw new UsageError('--facts-out is only used with --shard I/N');
  if (factsIn && shard) throw new UsageError('--facts joins shards; it cannot be combined with --shard');
  if ((shard || factsIn) && values.fix === true) throw new UsageError('--fix cannot be combined with --shard or --facts');
  const diff = values.diff === true;
  if ((shard || factsIn) && diff) throw new UsageError('--diff cannot be combined with --shard or --facts');
  const fix = values.fix === true || diff;
  if (values['unsafe-fixes'] === true && !fix) throw new UsageError('--unsafe-fixes is used with --fix or --diff');
  const writeBaseline = values['write-baseline'] as string | undefined;
  const baselineFlag = values.baseline as string | undefined;
  for (const [flag, value] of [['--baseline', baselineFlag], ['--write-baseline', writeBaseline]] as const) {
    if (value !== undefined && value.length === 0) throw new UsageError(`${flag} needs a file name`);
  }
  if (writeBaseline !== undefined && (diff || shard)) throw new UsageError('--write-baseline cannot be combined with --diff or --shard');

  const cwd = io.cwd;
  if (factsIn) return runJoin([...factsIn, ...positionals], values, threshold, format, output, quiet, io);
  for (const p of positionals) {
    try {
      fs.lstatSync(path.resolve(cwd, p));
    } catch {
      throw new UsageError(`${p}: no such file or directory`);
    }
  }

  // An output that cannot be written is known before the scan, not after it.
  for (const target of [output, factsOut]) {
    if (target === undefined) continue;
    const problem = writableFolderProblem(path.dirname(path.resolve(cwd, target)));
    if (problem) throw new UsageError(`cannot write ${target}: ${problem}`);
  }
  const loaded = loadConfig(cwd, values.config as string | undefined, positionals, (p) => reportConfigProblems([p], io));
  if (loaded.fatal) throw new UsageError(eachLine(loaded.fatal));
  reportConfigProblems(loaded.problems, io);
  const withSize: HazardLensConfig = maxFileSizeKb !== undefined ? { ...loaded.config, maxFileSizeKb } : loaded.config;
  const config: HazardLensConfig = selected(targetPlatform !== undefined ? { ...withSize, targetPlatform } : withSize, values);
  const baselineFile = baselineFlag !== undefined ? path.resolve(cwd, baselineFlag) : config.baseline ? path.resolve(loaded.base, config.baseline) : undefined;

  const progress = new ProgressLine(io.stderr, !quiet && io.stderr.isTTY === true);
  // Ctrl-C: the progress line is cleared (the shell prompt starts on a clean line), exit 130.
  const offInterrupt = io.onInterrupt?.(() => {
    progress.clear();
    io.stderr.write(`${PRODUCT_COMMAND}: interrupted\n`);
  });
  const tell = (line: string) => {
    if (quiet) return;
    progress.clear();
    io.stderr.write(`${PRODUCT_COMMAND}: ${line}\n`);
  };
  const show = (p: string) => shownPath(displayPath(cwd, p));
  const useCache = values['no-cache'] !== true && config.cache;
  // The cache location is the user's to choose (the flag, HAZARD_LENS_CACHE_DIR, a config file
  // named with -c), never the scanned project's: a repository's own .hazard-lens.json could
  // otherwise make a scan write wherever it says.
  const userChoseConfig = values.config !== undefined;
  if (useCache && cacheDirFlag === undefined && config.cacheDir && !userChoseConfig) {
    tell(`note: "cacheDir" in ${show(loaded.file ?? CONFIG_FILE_NAME)} is not used: the cache folder comes from --cache-dir, HAZARD_LENS_CACHE_DIR or a config file named with -c`);
  }
  let cacheDir = !useCache
    ? undefined
    : cacheDirFlag !== undefined
      ? path.resolve(cwd, cacheDirFlag)
      : config.cacheDir && userChoseConfig
        ? path.resolve(loaded.base, config.cacheDir)
        : defaultCacheDir();
  if (cacheDir !== undefined) {
    const unusable = writableFolderProblem(cacheDir);
    if (unusable) {
      tell(`warning: the cache is off for this run: ${unusable}`);
      cacheDir = undefined;
    }
  }
  // The environment is checked before the scan: a folder that is not one stops the run.
  const envFlag = values['python-env'] as string | undefined;
  if (envFlag !== undefined && envFlag.length === 0) throw new UsageError('--python-env needs a folder (or none)');
  const pythonEnvironment =
    envFlag !== undefined ? envFlag : config.pythonEnvironment && config.pythonEnvironment !== NO_ENVIRONMENT ? path.resolve(loaded.base, config.pythonEnvironment) : config.pythonEnvironment;
  const scanRoots = (positionals.length ? positionals : ['.']).map((p) => path.resolve(cwd, p));
  const environmentLookup = shard ? {} : findPythonEnvironment(pythonEnvironment, scanRoots, process.env, cwd);
  if (environmentLookup.error !== undefined) throw new UsageError(`${envFlag !== undefined ? '--python-env' : '"pythonEnvironment"'}: ${environmentLookup.error}`);
  const nodeFlag = values['node-modules'] as string | undefined;
  if (nodeFlag !== undefined && nodeFlag.length === 0) throw new UsageError('--node-modules needs a folder (or none)');
  const nodeModules = nodeFlag !== undefined ? nodeFlag : config.nodeModules && config.nodeModules !== NO_NODE_MODULES ? path.resolve(loaded.base, config.nodeModules) : config.nodeModules;
  const nodeLookup = shard ? {} : findNodeModules(nodeModules, scanRoots, cwd);
  if (nodeLookup.error !== undefined) throw new UsageError(`${nodeFlag !== undefined ? '--node-modules' : '"nodeModules"'}: ${nodeLookup.error}`);
  const options = {
    paths: positionals,
    cwd,
    config,
    pythonEnvironment,
    nodeModules,
    respectGitignore: values['no-gitignore'] !== true,
    extraExcludes: (values.exclude as string[] | undefined) ?? [],
    excludeBase: loaded.base,
    forceExclude: values['force-exclude'] === true,
    followExternalSymlinks: values['follow-external-symlinks'] === true,
    fix,
    unsafeFixes: values['unsafe-fixes'] === true,
    fixDryRun: diff,
    jobs: jobs ?? (config.jobs === 'auto' ? defaultJobs() : config.jobs),
    cacheDir,
    prefilter: values['no-prefilter'] === true ? false : undefined,
    shard,
    quickStart: io.oneShotProcess === true,
    configScopes: loaded.scopesFor,
  };
  const reporter = {
    onStart: (total: number) => progress.update(0, total),
    onProgress: (done: number, total: number) => progress.update(done, total),
    onSkip: (p: string, reason: string) => tell(`skipped ${show(p)}: ${reason}`),
    onNote: (p: string, note: string) => tell(p ? `note: ${show(p)}: ${note}` : `note: ${note}`),
    onDecoded: (p: string, encoding: SourceEncoding) => tell(`decoded as ${ENCODING_LABELS[encoding]}: ${show(p)}`),
  };
  if (shard && factsOut !== undefined) {
    const extraction = await extractFacts(options, reporter);
    progress.clear();
    const target = path.resolve(cwd, factsOut);
    try {
      makeDirectory(path.dirname(target));
      writeFactsFile(target, shard, extraction);
    } catch (e) {
      throw new UsageError(`cannot write ${factsOut}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!quiet) {
      io.stderr.write(
        `${PRODUCT_COMMAND}: shard ${shard.index + 1}/${shard.count}: ${plural(extraction.analyses.length, 'file')} analysed, facts written to ${factsOut}\n`,
      );
    }
    if (values.stats === true) printStats(io, extraction.stats);
    return EXIT_OK;
  }
  const result = await scan(options, reporter);
  progress.clear();
  offInterrupt?.();

  if (!quiet && result.analyses.length === 0 && result.skipped.length === 0) {
    io.stderr.write(`${PRODUCT_COMMAND}: warning: no files to analyse (looked for ${SUPPORTED_EXTENSIONS.join(' ')} and #! python/node scripts)\n`);
  }
  const fixed = result.fixed ?? [];
  const applied = fixed.reduce((n, f) => n + f.applied, 0);
  if (diff) {
    const patches = (result.fixedTexts ?? []).map((t) => {
      const shown = displayPath(cwd, t.path);
      return createTwoFilesPatch(`a/${shown}`, `b/${shown}`, t.before, t.after, undefined, undefined, { context: 3 }).replace(/^=+\n/, '');
    });
    writeReport(patches.join(''), output, cwd, io);
    if (!quiet) {
      io.stderr.write(
        applied > 0 ? `${PRODUCT_COMMAND}: would apply ${plural(applied, 'fix', 'fixes')} to ${plural(fixed.length, 'file')}\n` : `${PRODUCT_COMMAND}: no fixes to apply\n`,
      );
    }
    return patches.length > 0 ? EXIT_FINDINGS : EXIT_OK;
  }
  if (fix && !quiet) {
    io.stderr.write(
      applied > 0
        ? `${PRODUCT_COMMAND}: applied ${plural(applied, 'fix', 'fixes')} to ${plural(fixed.length, 'file')}\n`
        : `${PRODUCT_COMMAND}: no fixes applied\n`,
    );
  }
  return finishReport(result, { values, format, output, quiet, threshold, config, baselineFile, io });
}

/**
 * What every scan ends with, a single one or joined shards: the baseline written or applied,
 * then the report (or the statistics), the summary on stderr with `-o`, and the exit code.
 */
function finishReport(
  result: ScanResult,
  options: {
    values: Record<string, unknown>;
    format: ReportFormat;
    output: string | undefined;
    quiet: boolean;
    threshold: Severity;
    config: HazardLensConfig;
    baselineFile: string | undefined;
    io: CliIo;
  },
): number {
  const { values, format, output, quiet, threshold, config, baselineFile, io } = options;
  const cwd = io.cwd;
  const writeBaseline = values['write-baseline'] as string | undefined;
  const baselineFlag = values.baseline as string | undefined;
  const textOf = sourceTexts();
  if (writeBaseline !== undefined) {
    const target = path.resolve(cwd, writeBaseline);
    writeFile(baselineText(buildBaseline(result.findings, path.dirname(target), textOf)), target, writeBaseline);
    if (!quiet) io.stderr.write(`${PRODUCT_COMMAND}: wrote ${plural(result.findings.length, 'finding')} to the baseline ${writeBaseline}\n`);
    return EXIT_OK;
  }
  if (baselineFile !== undefined) {
    const shown = baselineFlag ?? displayPath(cwd, baselineFile);
    let text: string;
    try {
      text = fs.readFileSync(baselineFile, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read the baseline ${shown}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    let baseline;
    try {
      baseline = parseBaseline(text);
    } catch (e) {
      throw new UsageError(`${shown}: ${(e as Error).message}`);
    }
    const kept = withoutBaseline(result.findings, baseline, path.dirname(baselineFile), textOf);
    result.findings = kept.findings;
    if (!quiet && kept.absorbed > 0) io.stderr.write(`${PRODUCT_COMMAND}: ${plural(kept.absorbed, 'finding')} in the baseline ${shown} not reported\n`);
  }

  const colors = output === undefined && format === 'text' ? colorsFor(wantsColor(io.stdout, io.env ?? {})) : undefined;
  const fixRan = result.fixed !== undefined;
  if (values.statistics === true) writeReport(statistics(result.findings, colors), output, cwd, io);
  else writeReport(formatReport(format, result, { cwd, config, summary: !quiet, textOf, colors, fixRan }), output, cwd, io);
  if (output !== undefined && !quiet) io.stderr.write(`${PRODUCT_COMMAND}: ${summaryLine(result, fixRan)} Report written to ${output}.\n`);
  if (values.stats === true && result.stats) printStats(io, result.stats);
  return result.findings.some((f) => atLeast(f, threshold)) ? EXIT_FINDINGS : EXIT_OK;
}

/** `--select`/`--ignore`: the rules left out are switched off in the configuration. */
function selected(config: HazardLensConfig, values: Record<string, unknown>): HazardLensConfig {
  const split = (v: unknown) => ((v as string[] | undefined) ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  const select = values.select === undefined ? undefined : split(values.select);
  const ignore = split(values.ignore);
  if (select === undefined && ignore.length === 0) return config;
  try {
    return selectRules(config, select, ignore);
  } catch (e) {
    if (e instanceof SelectionError) throw new UsageError(e.message);
    throw e;
  }
}

/** `--statistics`: findings per rule, most first (a fixable count in brackets when there are any). */
export function statistics(findings: readonly Finding[], colors?: Colors): string {
  const rows = new Map<string, { count: number; fixable: number }>();
  for (const f of findings) {
    const row = rows.get(f.ruleId) ?? { count: 0, fixable: 0 };
    row.count++;
    if (chooseFix(f, false)?.edits.length) row.fixable++;
    rows.set(f.ruleId, row);
  }
  const sorted = [...rows].sort((a, b) => b[1].count - a[1].count || (a[0] < b[0] ? -1 : 1));
  if (sorted.length === 0) return 'No findings.\n';
  const width = String(sorted[0][1].count).length;
  const idWidth = Math.max(...sorted.map(([id]) => id.length));
  const lines = sorted.map(([id, r]) => {
    const summary = ruleById(id)?.meta.summary ?? (id === 'unused-suppression' ? 'A hazard-lens suppression comment suppresses nothing.' : '');
    const fixable = r.fixable > 0 ? ` [${r.fixable} fixable]` : '';
    const name = colors ? colors.cyan(id.padEnd(idWidth)) : id.padEnd(idWidth);
    return `${String(r.count).padStart(width)}  ${name}  ${summary}${fixable}`;
  });
  return `${lines.join('\n')}\n`;
}

function printStats(io: CliIo, stats: ScanStats): void {
  io.stderr.write(`${JSON.stringify(stats)}\n`);
}

/** `scan --facts FILE...`: joins the shards' facts and reports as one scan would. */
async function runJoin(
  factsFiles: string[],
  values: Record<string, unknown>,
  threshold: Severity,
  format: ReportFormat,
  output: string | undefined,
  quiet: boolean,
  io: CliIo,
): Promise<number> {
  const started = performance.now();
  const cwd = io.cwd;
  const loaded = loadConfig(cwd, values.config as string | undefined);
  if (loaded.fatal) throw new UsageError(eachLine(loaded.fatal));
  reportConfigProblems(loaded.problems, io);
  const config = selected(loaded.config, values);
  const baselineFlag = values.baseline as string | undefined;
  const baselineFile = baselineFlag !== undefined ? path.resolve(cwd, baselineFlag) : config.baseline ? path.resolve(loaded.base, config.baseline) : undefined;
  let joined;
  try {
    joined = joinFactsFiles(factsFiles.map((f) => ({ path: path.resolve(cwd, f), shown: f })));
  } catch (e) {
    if (e instanceof FactsFileError) throw new UsageError(e.message);
    throw e;
  }
  const t = performance.now();
  const evaluation = evaluate(joined.analyses, { ...config, scopes: loaded.scopesFor(joined.files) }, { roots: joined.roots, projectFiles: joined.projectFiles });
  const evaluateMs = Math.round(performance.now() - t);
  const notes = [...joined.notes, ...evaluation.notes.map((note) => ({ path: '', note }))];
  if (!quiet) {
    for (const s of joined.skipped) io.stderr.write(`${PRODUCT_COMMAND}: skipped ${shownPath(displayPath(cwd, s.path))}: ${s.reason}\n`);
    for (const d of joined.decoded) io.stderr.write(`${PRODUCT_COMMAND}: decoded as ${ENCODING_LABELS[d.encoding]}: ${shownPath(displayPath(cwd, d.path))}\n`);
    for (const n of notes) io.stderr.write(`${PRODUCT_COMMAND}: ${n.path ? `note: ${shownPath(displayPath(cwd, n.path))}: ${n.note}` : `note: ${n.note}`}\n`);
  }
  const result: ScanResult = { analyses: joined.analyses, findings: evaluation.findings, skipped: joined.skipped, cancelled: false, notes };
  const code = finishReport(result, { values, format, output, quiet, threshold, config, baselineFile, io });
  if (values.stats === true) {
    printStats(io, {
      ...emptyScanStats(),
      files: joined.files.length,
      skipped: joined.skipped.length,
      decoded: joined.decoded.length,
      ms: { discover: 0, analyse: 0, dependencies: 0, evaluate: evaluateMs, total: Math.round(performance.now() - started) },
      maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    });
  }
  return code;
}

function writeFile(text: string, target: string, shown: string): void {
  try {
    makeDirectory(path.dirname(target));
    fs.writeFileSync(target, text);
  } catch (e) {
    throw new UsageError(`cannot write ${shown}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function writeReport(report: string, output: string | undefined, cwd: string, io: CliIo): void {
  if (output !== undefined) {
    writeFile(report, path.resolve(cwd, output), output);
  } else if (report.length > 0) {
    io.stdout.write(report);
  }
}

function runRules(args: string[], io: CliIo): number {
  const { values, positionals } = parse(
    args,
    RULES_OPTIONS,
    'rules',
  );
  if (values.help) {
    io.stdout.write(RULES_HELP);
    return EXIT_OK;
  }
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'\nRun '${PRODUCT_COMMAND} rules --help' for usage.`);
  const format = oneOf(values.format as string | undefined, ['text', 'json'] as const, '--format', 'text');
  const loaded = loadConfig(io.cwd, values.config as string | undefined);
  if (loaded.fatal) throw new UsageError(eachLine(loaded.fatal));
  reportConfigProblems(loaded.problems, io);
  const config = loaded.config;
  const wanted = positionals[0];
  if (wanted !== undefined && !ruleById(wanted)) {
    throw new UsageError(`unknown rule '${wanted}' (rules: ${RULES.map((r) => r.meta.id).join(', ')})`);
  }
  const rows = RULES.filter((r) => wanted === undefined || r.meta.id === wanted).map((r) => ({
    id: r.meta.id,
    family: r.meta.family,
    languages: r.meta.languages,
    defaultSeverity: r.meta.defaultSeverity,
    severity: config.rules[r.meta.id] ?? r.meta.defaultSeverity,
    summary: r.meta.summary,
    fixes: r.meta.fixes,
    tags: r.meta.tags,
    preview: r.meta.preview === true,
    docsUrl: docsUrl(r.meta.id, config),
  }));
  if (format === 'json') {
    const withDocs = wanted === undefined ? rows : rows.map((r) => ({ ...r, documentation: ruleDocText(r.id) ?? null }));
    io.stdout.write(`${JSON.stringify({ version: 1, rules: withDocs }, null, 2)}\n`);
    return EXIT_OK;
  }
  if (wanted !== undefined) {
    io.stdout.write(explainRule(rows[0], colorsFor(wantsColor(io.stdout, io.env ?? {}))));
    return EXIT_OK;
  }
  const blocks = rows.map((r) => {
    const severity = r.severity === r.defaultSeverity ? r.severity : `${r.severity}, default ${r.defaultSeverity}`;
    const lines = [
      `${r.id} (${severity}; ${r.languages.join(', ')})${r.preview ? ' [preview]' : ''}`,
      `  ${r.summary}`,
      `  Fixes: ${r.fixes.length ? r.fixes.join(', ') : 'none'}. Tags: ${r.tags.length ? r.tags.join(', ') : 'none'}.`,
      `  Docs: ${r.docsUrl}`,
    ];
    return lines.join('\n');
  });
  io.stdout.write(`${blocks.join('\n\n')}\n`);
  return EXIT_OK;
}

/**
 * `rules <id>`: the rule's facts, then its documentation page as plain text for a terminal
 * (markdown headings and emphasis marks dropped; code and tables left as written).
 */
function explainRule(
  r: { id: string; family: string; languages: readonly string[]; severity: string; defaultSeverity: string; summary: string; fixes: readonly string[]; docsUrl: string; preview: boolean },
  colors: Colors | undefined,
): string {
  const bold = colors?.bold ?? ((s: string) => s);
  const severity = r.severity === r.defaultSeverity ? r.severity : `${r.severity} (default ${r.defaultSeverity})`;
  const head = [
    `${bold(r.id)}${r.preview ? ' [preview]' : ''}: ${r.summary}`,
    `  Family: ${r.family}. Languages: ${r.languages.join(', ')}. Severity: ${severity}. Fixes: ${r.fixes.length ? r.fixes.join(', ') : 'none'}.`,
    `  Documentation: ${r.docsUrl}`,
  ];
  const doc = ruleDocText(r.id);
  if (doc === undefined) return `${head.join('\n')}\n`;
  let inCode = false;
  const body = doc
    .split('\n')
    .filter((line, i) => !(i === 0 && line.startsWith('# ')))
    .map((line) => {
      if (line.startsWith('```')) {
        inCode = !inCode;
        return colors ? colors.dim(line) : line;
      }
      if (inCode) return line;
      const heading = /^#{1,6}\s+(.*)$/.exec(line);
      if (heading) return bold(heading[1]);
      return line.replace(/\*\*([^*]+)\*\*/g, (_, t: string) => bold(t));
    });
  return `${head.join('\n')}\n\n${body.join('\n').replace(/^\n+/, '')}${doc.endsWith('\n') ? '' : '\n'}`;
}

async function runLsp(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, LSP_OPTIONS, 'lsp');
  if (values.help) {
    io.stdout.write(LSP_HELP);
    return EXIT_OK;
  }
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'\nRun '${PRODUCT_COMMAND} lsp --help' for usage.`);
  if (values.stdio !== true) throw new UsageError(`lsp needs --stdio (the only transport supported)\nRun '${PRODUCT_COMMAND} lsp --help' for usage.`);
  if (!io.startLanguageServer) throw new UsageError('the language server is not available in this build');
  await io.startLanguageServer();
  return EXIT_OK;
}


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
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { defaultCacheDir } from '../engine/cache';
import { makeDirectory, writableFolderProblem } from '../engine/directories';
import { docsUrl, type HazardLensConfig } from '../engine/config';
import { atLeast, evaluate } from '../engine/engine';
import type { Severity } from '../analysis/results';
import { SUPPORTED_EXTENSIONS } from '../parsing/parser';
import { RULES } from '../rules/index';
import { PRODUCT_COMMAND, PRODUCT_VERSION, displayPath, plural } from '../scan/reporters/common';
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

export interface CliIo {
  stdout: { write(chunk: string): unknown };
  stderr: ProgressStream;
  cwd: string;
  /** Starts the language server on stdio (injected so the scan path does not load it). */
  startLanguageServer?: () => void | Promise<void>;
  /** The process runs this one command and ends (bin/hazard-lens.js, not a test): see `ScanOptions.quickStart`. */
  oneShotProcess?: boolean;
}

const SEVERITY_THRESHOLDS: readonly Severity[] = ['error', 'warning', 'info', 'hint'];
const DEFAULT_THRESHOLD: Severity = 'warning';

const MAIN_HELP = `Usage: ${PRODUCT_COMMAND} <command> [options]

Finds concurrency and resource-lifetime hazards in C, Python and TypeScript.

Commands:
  scan [paths...]   Analyse files and directories (default: the current directory)
  rules             List the rules: id, languages, severity, summary, documentation
  lsp --stdio       Run the language server over stdin/stdout

Options:
  -h, --help        Show help (also: ${PRODUCT_COMMAND} <command> --help)
  -V, --version     Print the version

Exit codes: 0 no finding at or above the severity threshold, 1 findings at or above it,
2 usage or internal error.
`;

const SCAN_HELP = `Usage: ${PRODUCT_COMMAND} scan [paths...] [options]

Analyses the given files and directories (default: the current directory). Directories are
walked for ${SUPPORTED_EXTENSIONS.join(' ')} files and for scripts without an extension
whose #! line runs python or node (only that line is read), honouring .gitignore files and
the configuration's "exclude"; node_modules, .git, .hg and .svn are never entered. Files named
explicitly are analysed even when an ignore pattern matches them (see --force-exclude).

Options:
  -f, --format FORMAT             text (default), json, sarif or github
  -o, --output FILE               Write the report to FILE instead of stdout
      --severity-threshold LEVEL  Exit with 1 when a finding is at or above LEVEL:
                                  error, warning (default), info or hint
  -c, --config FILE               Configuration file (default: the nearest .hazard-lens.json in
                                  the scanned folder or above it, and nested ones for their folders)
      --fix                       Apply safe fixes, write the files back, report what remains
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

const RULES_HELP = `Usage: ${PRODUCT_COMMAND} rules [options]

Lists the rules with their languages, severity, summary and documentation URL.

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

type OptionSpec = NonNullable<ParseArgsConfig['options']>;

function parse(args: string[], options: OptionSpec, command: string) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // Node's wording suggests `--` for positionals that start with a dash; keep the first sentence.
    const first = message.split(/(?<=\.) /)[0];
    throw new UsageError(`${first}\nRun '${PRODUCT_COMMAND} ${command} --help' for usage.`);
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
            ? `unknown option '${command}'\nRun '${PRODUCT_COMMAND} --help' for usage.`
            : `unknown command '${command}' (commands: scan, rules, lsp)\nRun '${PRODUCT_COMMAND} --help' for usage.`,
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
  const { values, positionals } = parse(
    args,
    {
      format: { type: 'string', short: 'f' },
      output: { type: 'string', short: 'o' },
      'severity-threshold': { type: 'string' },
      config: { type: 'string', short: 'c' },
      fix: { type: 'boolean' },
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
    },
    'scan',
  );
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
  const config: HazardLensConfig = targetPlatform !== undefined ? { ...withSize, targetPlatform } : withSize;

  const progress = new ProgressLine(io.stderr, !quiet && io.stderr.isTTY === true);
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
    fix: values.fix === true,
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

  if (!quiet && result.analyses.length === 0 && result.skipped.length === 0) {
    io.stderr.write(`${PRODUCT_COMMAND}: warning: no files to analyse (looked for ${SUPPORTED_EXTENSIONS.join(' ')} and #! python/node scripts)\n`);
  }
  if (values.fix === true && !quiet) {
    const fixed = result.fixed ?? [];
    const applied = fixed.reduce((n, f) => n + f.applied, 0);
    io.stderr.write(
      applied > 0
        ? `${PRODUCT_COMMAND}: applied ${plural(applied, 'fix', 'fixes')} to ${plural(fixed.length, 'file')}\n`
        : `${PRODUCT_COMMAND}: no fixes applied\n`,
    );
  }

  writeReport(formatReport(format, result, { cwd, config, summary: !quiet }), output, cwd, io);
  if (values.stats === true && result.stats) printStats(io, result.stats);
  return result.findings.some((f) => atLeast(f, threshold)) ? EXIT_FINDINGS : EXIT_OK;
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
  const config = loaded.config;
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
  const report = formatReport(format, result, { cwd, config, summary: !quiet });
  writeReport(report, output, cwd, io);
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
  return result.findings.some((f) => atLeast(f, threshold)) ? EXIT_FINDINGS : EXIT_OK;
}

function writeReport(report: string, output: string | undefined, cwd: string, io: CliIo): void {
  if (output !== undefined) {
    const target = path.resolve(cwd, output);
    try {
      makeDirectory(path.dirname(target));
      fs.writeFileSync(target, report);
    } catch (e) {
      throw new UsageError(`cannot write ${output}: ${e instanceof Error ? e.message : String(e)}`);
    }
  } else if (report.length > 0) {
    io.stdout.write(report);
  }
}

function runRules(args: string[], io: CliIo): number {
  const { values, positionals } = parse(
    args,
    { format: { type: 'string', short: 'f' }, config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
    'rules',
  );
  if (values.help) {
    io.stdout.write(RULES_HELP);
    return EXIT_OK;
  }
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'\nRun '${PRODUCT_COMMAND} rules --help' for usage.`);
  const format = oneOf(values.format as string | undefined, ['text', 'json'] as const, '--format', 'text');
  const loaded = loadConfig(io.cwd, values.config as string | undefined);
  if (loaded.fatal) throw new UsageError(eachLine(loaded.fatal));
  reportConfigProblems(loaded.problems, io);
  const config = loaded.config;
  const rows = RULES.map((r) => ({
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
    io.stdout.write(`${JSON.stringify({ version: 1, rules: rows }, null, 2)}\n`);
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

async function runLsp(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, { stdio: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, 'lsp');
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


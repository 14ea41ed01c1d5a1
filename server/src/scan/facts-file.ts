/**
 * Facts files of a sharded scan: `scan --shard i/n --facts-out FILE` writes what its share of
 * the files contributes (analyses, plus the whole file list, the roots and the project files
 * that the program model needs, which every shard computes alike); `scan --facts FILE...`
 * joins the shards and evaluates the rules once, with the result a single scan gives.
 *
 * Files are validated (zod) before use; a file from another build (the analyser may differ),
 * another format version, another sharding or another file list is an error that says so.
 * Paths are absolute: the shards must scan the same checkout at the same path.
 */
import * as fs from 'node:fs';
import { zod } from '../knowledge/zod';
import { buildFingerprint } from '../engine/cache';
import type { Extraction, Shard } from './scanner';

export const FACTS_FORMAT = 1;

/**
 * The zod shape of a facts file, built on first use (`--facts`), not when the CLI starts. Its
 * analyses have the shape the cache checks (`isFileAnalysisShape` in engine/cache.ts; the test
 * test/engine/cache-shape.test.ts keeps the two in step); zod gives the messages that name
 * the offending key, and drops keys it does not know.
 */
let factsFileSchema: ReturnType<typeof makeFactsFileSchema> | undefined;

function makeFactsFileSchema() {
  const z = zod();
  return z.object({
    hazardLensFacts: z.number(),
    build: z.string(),
    shard: z.object({ index: z.number().int().nonnegative(), count: z.number().int().positive() }),
    files: z.array(z.string()),
    roots: z.array(z.string()),
    projectFiles: z.array(z.object({ path: z.string(), text: z.string() })),
    analyses: z.array(fileAnalysisSchema()),
    skipped: z.array(z.object({ path: z.string(), reason: z.string() })),
    decoded: z.array(z.object({ path: z.string(), encoding: z.enum(['utf-8', 'windows-1252', 'utf-16le', 'utf-16be']) })),
    notes: z.array(z.object({ path: z.string(), note: z.string() })),
  });
}

/** The zod shape of a {@link FileAnalysis} (facts are checked loosely: each language owns its kinds). */
export function fileAnalysisSchema() {
  const z = zod();
  const position = z.object({ line: z.number().int().nonnegative(), character: z.number().int().nonnegative() });
  const range = z.object({ start: position, end: position });
  const edit = z.object({ range, newText: z.string() });
  const finding = z.object({
    ruleId: z.string(),
    path: z.string(),
    range,
    message: z.string(),
    severity: z.enum(['error', 'warning', 'info', 'hint']),
    related: z.array(z.object({ path: z.string(), range, message: z.string() })),
    fixes: z.array(z.object({ title: z.string(), applicability: z.enum(['safe', 'unsafe', 'display-only']), edits: z.array(edit) })),
  });
  return z.object({
    path: z.string(),
    language: z.enum(['c', 'python', 'typescript']),
    contentHash: z.string().regex(/^[0-9a-f]{64}$/),
    syntaxErrors: z.array(range),
    suppressions: z.array(z.object({ scope: z.enum(['line', 'file']), ruleIds: z.array(z.string()), range, targetLine: z.number().int() })),
    localFindings: z.array(finding),
    facts: z.array(z.looseObject({ kind: z.string() })),
    handleSummary: z
      .looseObject({ returnedHandles: z.array(z.looseObject({ exportPath: z.array(z.string()) })), pendingLeaks: z.array(z.looseObject({ requires: z.looseObject({ kind: z.string() }) })) })
      .optional(),
    notes: z.array(z.string()),
  });
}

/**
 * What a shard's facts file carries of its {@link Extraction}, and what joining them gives:
 * `analyses`, `skipped`, `decoded` (files not UTF-8) and `notes` are of the shard's files.
 */
export type JoinedFacts = Pick<Extraction, 'analyses' | 'files' | 'roots' | 'projectFiles' | 'skipped' | 'decoded' | 'notes'>;

export interface FactsFile extends JoinedFacts {
  /** Format version of the file. */
  hazardLensFacts: number;
  /** Build fingerprint of the analyser that wrote it (`buildFingerprint`). */
  build: string;
  shard: Shard;
}

/** A facts file that cannot be used, with a message for the user. */
export class FactsFileError extends Error {}

/** Parses `--shard i/n` (1-based on the command line, as in "shard 1 of 3"). */
export function parseShard(value: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(value);
  if (!m) throw new FactsFileError(`invalid value '${value}' for --shard: expected I/N, e.g. 1/3`);
  const i = Number(m[1]);
  const n = Number(m[2]);
  if (n < 1 || n > 10000) throw new FactsFileError(`invalid value '${value}' for --shard: N must be from 1 to 10000`);
  if (i < 1 || i > n) throw new FactsFileError(`invalid value '${value}' for --shard: I must be from 1 to ${n}`);
  return { index: i - 1, count: n };
}

export function writeFactsFile(file: string, shard: Shard, extraction: Extraction): void {
  const data: FactsFile = {
    hazardLensFacts: FACTS_FORMAT,
    build: buildFingerprint(),
    shard,
    files: extraction.files,
    roots: extraction.roots,
    projectFiles: extraction.projectFiles,
    analyses: extraction.analyses,
    skipped: extraction.skipped,
    decoded: extraction.decoded,
    notes: extraction.notes,
  };
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(data));
  fs.renameSync(tmp, file);
}

function readOne(file: string, shown: string): FactsFile {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new FactsFileError(
      code ? `cannot read facts file ${shown}: ${code === 'ENOENT' ? 'no such file' : code}` : `${shown} is not a facts file (invalid JSON)`,
    );
  }
  const format = (raw as { hazardLensFacts?: unknown } | null)?.hazardLensFacts;
  if (typeof format !== 'number') throw new FactsFileError(`${shown} is not a facts file (no "hazardLensFacts" version)`);
  if (format !== FACTS_FORMAT) {
    throw new FactsFileError(`${shown} has facts format ${format}, this hazard-lens reads format ${FACTS_FORMAT}; write it again with this version`);
  }
  factsFileSchema ??= makeFactsFileSchema();
  const parsed = factsFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new FactsFileError(`${shown} is not a valid facts file (${issue.path.join('.')}: ${issue.message})`);
  }
  const build = buildFingerprint();
  if (parsed.data.build !== build) {
    throw new FactsFileError(`${shown} was written by another build of hazard-lens (${parsed.data.build}, this is ${build}); run every shard with the same build`);
  }
  return parsed.data as unknown as FactsFile;
}

/** Reads and joins the facts files of every shard; throws {@link FactsFileError}. */
export function joinFactsFiles(files: readonly { path: string; shown: string }[]): JoinedFacts {
  if (files.length === 0) throw new FactsFileError('--facts needs at least one facts file');
  const parts = files.map((f) => ({ ...f, data: readOne(f.path, f.shown) }));
  const first = parts[0];
  const count = first.data.shard.count;
  const seen = new Map<number, string>();
  for (const p of parts) {
    if (p.data.shard.count !== count) {
      throw new FactsFileError(`${p.shown} is shard ${p.data.shard.index + 1}/${p.data.shard.count} but ${first.shown} is of ${count} shards`);
    }
    const other = seen.get(p.data.shard.index);
    if (other !== undefined) throw new FactsFileError(`${p.shown} and ${other} are both shard ${p.data.shard.index + 1}/${count}`);
    seen.set(p.data.shard.index, p.shown);
    if (p.data.files.length !== first.data.files.length || p.data.files.some((f, i) => f !== first.data.files[i])) {
      throw new FactsFileError(`${p.shown} and ${first.shown} scanned different files (run every shard on the same paths and configuration)`);
    }
  }
  const missing: string[] = [];
  for (let i = 0; i < count; i++) if (!seen.has(i)) missing.push(`${i + 1}/${count}`);
  if (missing.length) throw new FactsFileError(`shard ${missing.join(', ')} missing: --facts needs the facts file of every shard`);

  const order = new Map(first.data.files.map((f, i) => [f, i]));
  const analyses = parts.flatMap((p) => p.data.analyses);
  analyses.sort((a, b) => (order.get(a.path) ?? Infinity) - (order.get(b.path) ?? Infinity));
  const skipped = new Map<string, { path: string; reason: string }>();
  for (const p of parts) for (const s of p.data.skipped) skipped.set(`${s.path}\0${s.reason}`, s);
  const notes = parts
    .flatMap((p) => p.data.notes)
    .sort((a, b) => (order.get(a.path) ?? -1) - (order.get(b.path) ?? -1));
  return {
    analyses,
    files: first.data.files,
    roots: first.data.roots,
    projectFiles: first.data.projectFiles,
    skipped: [...skipped.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    decoded: parts.flatMap((p) => p.data.decoded).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    notes,
  };
}

/**
 * Program facts: what one file contributes to the whole-program model (imports, function
 * definitions and calls, thread starts, fork sites, fd caches, ...). Plain serialisable
 * data, extracted once per file version and cached with the file's analysis; the program
 * model (`model/`) links them across files and the program rules read them.
 * Each language owns its fact kinds in `facts/<lang>/program-facts.ts`.
 */
import type { CFact } from './c/program-facts';
import type { PythonFact } from './python/program-facts';
import type { TsFact } from './typescript/program-facts';

export type ProgramFact = PythonFact | CFact | TsFact;

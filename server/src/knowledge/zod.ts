/**
 * The zod library, loaded the first time a shape is built (a configuration file that sets
 * something, a `knowledge` section, a facts file, the JSON schema), not when the CLI starts: in
 * the bundle, its initialisation cost a one-file scan about as much as the analysis (issue #17).
 * Modules import zod's types with `import type` and call {@link zod} for the values.
 */
import type * as Zod from 'zod';

let loaded: typeof Zod | undefined;

/** zod's `z`. */
export function zod(): typeof Zod.z {
  // A require() call, not an import: the bundler then initialises zod when this first runs.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
  loaded ??= require('zod') as typeof Zod;
  return loaded.z;
}

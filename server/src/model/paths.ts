/**
 * Path arithmetic the program models share: how near two directories are, which breaks ties
 * between candidates by the directory they share (C call resolution, WSGI configurations).
 */
import * as nodePath from 'node:path';

/** How many leading path segments `a` and `b` share. */
export function commonPrefixLength(a: string, b: string): number {
  const pa = a.split(nodePath.sep);
  const pb = b.split(nodePath.sep);
  let i = 0;
  while (i < pa.length && i < pb.length && pa[i] === pb[i]) i++;
  return i;
}

/** Folder names that hold tests (`test/`, `tests/`, `testsuite/`, `unittests/`). */
const TEST_FOLDER = /^(?:tests?|testing|testsuites?|unit-?tests?|t)$/i;

/** File names of tests: `test-fork.c`, `test_spawn.c`, `check_queue.c`, `queue_test.c`, `bench-pump.c`. */
const TEST_FILE = /^(?:tests?|check|bench(?:mark)?s?)[-_]|[-_](?:tests?|unittests?|check)\.[^.]+$/i;

/**
 * Does a path (relative to the workspace) name a test file? By its file name or one of its
 * folders, the conventions C projects follow for test programs.
 */
export function isTestPath(relative: string): boolean {
  const parts = relative.split(/[\\/]/);
  const file = parts.pop() ?? '';
  return TEST_FILE.test(file) || parts.some((p) => TEST_FOLDER.test(p));
}

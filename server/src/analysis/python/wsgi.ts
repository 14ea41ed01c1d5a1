/**
 * WSGI response lifetime analysis for Python (`wsgi-response-not-closed`), per file.
 *
 * PEP 3333 gives whoever holds a response iterable one duty: call its `close()` when done,
 * whether the response was fully sent or abandoned. Three shapes lose that duty:
 *
 * 1. **Double wrap** (incident 3, Bottle + uWSGI): `environ['wsgi.file_wrapper'](x)` where
 *    `x` may already be a wrapped response — typically the response of a mounted
 *    sub-application, which received the same `environ` and may have wrapped its own file,
 *    coming back into the function that wraps. The value is traced backwards inside the file:
 *    through parameters (to every call site of the function), local assignments, attribute
 *    stores (`rs.body = body`), returns of functions of the file, constructor arguments, and
 *    one dynamic hop (a call through a local object, `route.call(**args)`, may reach any
 *    function of the file that is registered as a callback and returns a sub-application's
 *    response — Bottle's `mountpoint_wrapper`).
 * 2. **Middleware** that calls `app(environ, start_response)` and then iterates, consumes,
 *    drops or replaces the inner response without calling its `close()`. Silent when the
 *    response is returned unchanged, `yield from`-ed, stored or handed to an owner, closed
 *    (any `close` reference counts: `r.close()`, `getattr(r, 'close')`, `r.close` passed on),
 *    wrapped in a class that forwards `close`, or passed to a generator of the file that
 *    closes it in `finally`.
 *    Also reported: a response consumed and then closed outside `finally`, close() looked up
 *    only on what the response was copied into (`chunks.extend(r)`, `iter(r)`), and a close
 *    reached only when the response is truthy.
 * 3. **Generators** that close something they own only after their loop: the server calls
 *    `close()` on the generator when the client goes away, `GeneratorExit` is raised at the
 *    `yield`, and the statement after the loop never runs. `yield from x` counts as such a
 *    loop unless `x` is its own iterator: it passes close() on to `iter(x)` only.
 * 4. **close() looked up on `iter(x)`** instead of on `x` (`wsgi-close-lookup.ts`).
 * 5. **close() forwarded only when the response is truthy** in an iterable class: an empty
 *    response with `__len__` 0 is falsy but still has a close() (`wsgi-close-lookup.ts`).
 *
 * NOTE: shape 3 overlaps `unreleased-file` when the handle is opened inside the generator: that
 * rule already reports such an open (a read or an iteration may raise) and offers the `with`
 * rewrite, so this analysis stays silent for every handle `unreleased-file` reports and only
 * speaks for what that rule does not track — a file handed in as a parameter, an inner response,
 * a handle from a call it does not know, or an open with no raising step before the `yield`.
 *
 * This file holds the entry points and runs the shapes over the candidate functions. The parts:
 * `wsgi-tokens.ts` (the quick check and the candidate functions), `wsgi-syntax.ts` (tree
 * readers), `wsgi-index.ts` (the file's index and recognisers), one file per shape
 * (`wsgi-double-wrap.ts`, `wsgi-middleware.ts`, `wsgi-close-after-loop.ts`, and
 * `wsgi-close-lookup.ts` for shapes 4 and 5 and the close lookups they share), `wsgi-fixes.ts`
 * (the fixes) and `wsgi-issue.ts` (what is reported).
 */
import type { Node, Tree } from '../../parsing/parser';
import { anyIn } from '../../text/positions';
import { candidateFunctions, mayApply, Tokens } from './wsgi-tokens';
import { WsgiIndex } from './wsgi-index';
import { WsgiFixes } from './wsgi-fixes';
import { DoubleWrapCheck } from './wsgi-double-wrap';
import { MiddlewareCheck } from './wsgi-middleware';
import { CloseAfterLoopCheck } from './wsgi-close-after-loop';
import { CloseLookupCheck } from './wsgi-close-lookup';
import type { WsgiIssue } from './wsgi-issue';
import { recordAnalysisFailure } from '../failures';
import { isWordCode } from '../../text/char-codes';

export type { WsgiIssue, WsgiIssueKind, WsgiStep } from './wsgi-issue';

/** Never throws: a file the analysis cannot handle yields no findings. */
export function analyzeWsgi(tree: Tree, text: string): WsgiIssue[] {
  if (!mayApply(text)) return [];
  try {
    return run(tree, text);
  } catch (err) {
    recordAnalysisFailure('the WSGI response analysis', err);
    return [];
  }
}

/** Same as {@link analyzeWsgi} but lets errors through (tests and measurements). */
export function analyzeWsgiStrict(tree: Tree, text: string): WsgiIssue[] {
  if (!mayApply(text)) return [];
  return run(tree, text);
}

/** The names of the methods that make a class iterable. */
const ITERATOR_METHOD_NAMES = ['__iter__', '__next__', 'next'] as const;

/**
 * Where `def __iter__` (or `__next__`, `next`) names its method, and the name: the keyword
 * `def` as a whole word, blanks or backslash-continued lines, then the name as a whole word
 * (the matches of `/\bdef(?:[ \t\f]|\\\r?\n)+(__iter__|__next__|next)\b/g`, found from an `indexOf`
 * scan for `def` rather than trying the pattern at every offset).
 */
export function iteratorMethods(text: string): { at: number; name: string }[] {
  const out: { at: number; name: string }[] = [];
  for (let i = text.indexOf('def'); i >= 0; i = text.indexOf('def', i + 1)) {
    if (i > 0 && isWordCode(text.charCodeAt(i - 1))) continue;
    let j = i + 3;
    for (;;) {
      const c = text.charCodeAt(j);
      if (c === 32 || c === 9 || c === 12) j++;
      else if (c === 92 && text.charCodeAt(j + 1) === 10) j += 2;
      else if (c === 92 && text.charCodeAt(j + 1) === 13 && text.charCodeAt(j + 2) === 10) j += 3;
      else break;
    }
    if (j === i + 3) continue;
    const name = ITERATOR_METHOD_NAMES.find((n) => text.startsWith(n, j));
    if (!name || (j + name.length < text.length && isWordCode(text.charCodeAt(j + name.length)))) continue;
    out.push({ at: j, name });
    i = j + name.length - 1;
  }
  return out;
}

/**
 * The classes with an `__iter__`, `__next__` or `next` method of their own, in document order:
 * the only ones shape 5 can match (`truthyInClass`). Found from the method names in the text
 * and confirmed on the tree, instead of a walk over every node of the file for its classes —
 * in a tree without syntax errors: the parser's recovery can make a method of text the scan
 * does not read as one (`def) next(self):`), so a broken file's classes are walked.
 */
export function iterableClasses(tree: Tree, text: string): Node[] {
  const root = tree.rootNode;
  if (root.hasError) return iterableClassesByWalk(root);
  const out = new Map<number, Node>();
  for (const m of iteratorMethods(text)) {
    const at = m.at;
    const name = root.descendantForIndex(at, at + m.name.length);
    const def = name?.parent;
    if (!name || def?.type !== 'function_definition' || def.childForFieldName('name')?.id !== name.id) continue;
    const block = def.parent?.type === 'decorated_definition' ? def.parent.parent : def.parent;
    const cls = block?.type === 'block' ? block.parent : null;
    if (cls?.type === 'class_definition' && cls.childForFieldName('body')?.id === block!.id) out.set(cls.id, cls);
  }
  return [...out.values()].sort((a, b) => a.startIndex - b.startIndex);
}

/** {@link iterableClasses} by a walk over every class of the tree. */
function iterableClassesByWalk(root: Node): Node[] {
  const out: Node[] = [];
  for (const cls of root.descendantsOfType('class_definition')) {
    for (const statement of cls?.childForFieldName('body')?.namedChildren ?? []) {
      const def = statement?.type === 'decorated_definition' ? statement.childForFieldName('definition') : statement;
      const name = def?.type === 'function_definition' ? def.childForFieldName('name')?.text : undefined;
      if (cls && name && (ITERATOR_METHOD_NAMES as readonly string[]).includes(name)) {
        out.push(cls);
        break;
      }
    }
  }
  return out;
}

/** Runs the shapes over the candidate functions (and, for shape 5, the iterable classes) of one file: one issue per position, in document order. */
function run(tree: Tree, text: string): WsgiIssue[] {
  const file = new WsgiIndex(tree, text);
  const fixes = new WsgiFixes(file);
  const doubleWrap = new DoubleWrapCheck(file, fixes);
  const middleware = new MiddlewareCheck(file, fixes);
  const closeAfterLoop = new CloseAfterLoopCheck(file, fixes);
  const closeLookup = new CloseLookupCheck(file);
  const out: WsgiIssue[] = [];
  const reported = new Set<string>();
  const push = (issue: WsgiIssue | null) => {
    if (!issue) return;
    const key = `${issue.range.start.line}:${issue.range.start.character}`;
    if (reported.has(key)) return;
    reported.add(key);
    out.push(issue);
  };
  // Only functions whose text holds a shape's tokens can show it (see `Tokens`); the others
  // are skipped without visiting their bodies.
  const tokens = new Tokens(text);
  for (const { fn, wrap, app, gen, derived } of candidateFunctions(tree, tokens)) {
    if (wrap || app) {
      for (const n of file.own(fn).calls) {
        const wrapped = wrap ? file.wrapArgument(n, fn) : null;
        if (wrapped) push(doubleWrap.check(n, wrapped, fn));
        // The environ argument lies inside the call.
        if (app && anyIn(tokens.environ, n.startIndex, n.endIndex) && file.isAppCall(n, fn)) push(middleware.check(n, fn));
      }
    }
    if (gen && file.isGenerator(fn)) for (const issue of closeAfterLoop.check(fn)) push(issue);
    if (derived) for (const issue of closeLookup.derived(fn)) push(issue);
  }
  if (tokens.iterableClasses) {
    for (const cls of iterableClasses(tree, text)) for (const issue of closeLookup.truthyInClass(cls)) push(issue);
  }
  out.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
  return out;
}

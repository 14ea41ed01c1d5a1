/**
 * What Hazard Lens knows about WSGI (PEP 3333) responses, in one place. Read by the
 * `wsgi-response-not-closed` analysis (`analysis/python/wsgi.ts`).
 */

/** The environ key whose value wraps a file-like object into a response iterable. */
export const FILE_WRAPPER_KEY = 'wsgi.file_wrapper';

/**
 * How the first argument of a WSGI application call is spelled: `environ`, `env`,
 * `request.environ`, `self.environ` (the last dotted component is compared).
 */
export const ENVIRON_NAMES: ReadonlySet<string> = new Set(['environ', 'env', 'environment', 'wsgi_environ', 'wsgi_env']);

/** A call of `iter()` (close() looked up on the iterator instead of on the iterable). */
export const ITER_CALL = 'iter(';

/** What every iterable class defines (close() forwarded only when the wrapped response is truthy). */
export const ITERABLE_CLASS = '__iter__';

/**
 * A call that builds the environ for an application call, by the last component of its name:
 * `make_environ(...)`, `self.get_environ()`, `build_wsgi_environ(req)` (a name in
 * {@link ENVIRON_NAMES} called as a function, `WSGIContainer.environ(request)`, counts too).
 */
export const ENVIRON_BUILDER = /^(?:make|get|build|create|to)_(?:wsgi_)?environ$/;

/**
 * The tokens each shape of the analysis needs, ALL of them (a conjunction per entry): the
 * file-wrapper key (double wrap); an environ name (an application call in middleware); `yield`
 * and `close` (a generator that closes what it holds only after its loop); `iter(` and
 * `close` (close() looked up on an iterator); `__iter__` and `close` (an iterable class that
 * forwards close() only when the response is truthy). A file, or a function's own text, that
 * holds every token of no entry cannot show any shape: this is the analysis' quick check
 * (`analysis/python/wsgi.ts`).
 */
export const WSGI_SHAPE_TOKENS: readonly (readonly string[])[] = [
  [FILE_WRAPPER_KEY],
  ...[...ENVIRON_NAMES].map((n) => [n]),
  ['yield', 'close'],
  [ITER_CALL, 'close'],
  [ITERABLE_CLASS, 'close'],
];

/**
 * Tokens one of which a file must contain for the analysis to find anything (the keyword
 * prefilter, `engine/prefilter.ts`, which can only express "any of"): the first token of each
 * entry of {@link WSGI_SHAPE_TOKENS}, so a file with none of them completes no entry.
 */
export const WSGI_KEYWORDS: readonly string[] = WSGI_SHAPE_TOKENS.map((all) => all[0]);

/**
 * The second argument of a WSGI application call: a `start_response` callable. Compared on the
 * last dotted component; a lambda or a function defined in an enclosing function also counts.
 */
export const START_RESPONSE_PATTERN = /start|^_?sr$/i;

/**
 * Calls that consume an iterable entirely and return something else: the inner response is
 * iterated and then forgotten, so its `close()` is lost unless the caller calls it.
 */
export const CONSUMING_CALLS: ReadonlySet<string> = new Set([
  'list',
  'tuple',
  'set',
  'sorted',
  'bytes',
  'bytearray',
  'sum',
  'any',
  'all',
  'join',
  'b"".join',
  "b''.join",
  '"".join',
  "''.join",
]);

/**
 * Methods that consume an iterable argument into their receiver: `body.extend(app(...))`,
 * `out.writelines(app(...))`. The receiver is a list or a file, not an owner of the response.
 */
export const CONSUMING_METHODS: ReadonlySet<string> = new Set(['extend', 'writelines']);

/**
 * Iterator adapters that take the inner response but do not forward `close()`: the result they
 * return has no `close` method, so a server calling `close()` on it never reaches the inner one.
 */
export const NON_FORWARDING_WRAPPERS: ReadonlySet<string> = new Set([
  'itertools.chain',
  'itertools.islice',
  'itertools.imap',
  'itertools.starmap',
  'itertools.takewhile',
  'itertools.dropwhile',
  'chain',
  'islice',
  'imap',
  'map',
  'filter',
  'zip',
  'iter',
  'enumerate',
  'reversed',
]);

/**
 * Adapters whose result carries its arguments along (for "may this value be the inner
 * response?"): `itertools.chain(first, rest)` holds `rest`.
 */
export const CARRYING_CALLS: ReadonlySet<string> = new Set(['itertools.chain', 'chain', 'itertools.islice', 'islice']);

/** Exception names that, when caught around a `yield`, see a generator being closed early. */
export const GENERATOR_EXIT_CATCHERS: ReadonlySet<string> = new Set(['GeneratorExit', 'BaseException']);

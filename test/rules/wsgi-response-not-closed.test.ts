/**
 * wsgi-response-not-closed beyond the fixture annotations: the incident-3 example
 * (`examples/py-wsgi-double-wrap/`) reported with its chain from the first wrap to the second
 * one, in process and through the CLI, and its corrected version silent; the exact chains of
 * the other shapes; the division of labour with `unreleased-file`; the keyword prefilter.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { before, describe, test } from 'node:test';
import { analyzeText } from '../../server/src/engine/analyze';
import { evaluate } from '../../server/src/engine/engine';
import { ruleMayApply } from '../../server/src/engine/prefilter';
import type { FileAnalysis, Finding } from '../../server/src/analysis/results';
import { ensureBuilt, runCli } from '../cli/helpers';
import { grammarsReady } from '../harness';

const ROOT = join(__dirname, '..', '..');
const EXAMPLE = join(ROOT, 'examples', 'py-wsgi-double-wrap');
const ID = 'wsgi-response-not-closed';

before(async () => {
  await grammarsReady();
});

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

function analyzeDir(dir: string): FileAnalysis[] {
  const files: FileAnalysis[] = [];
  for (const abs of walk(dir)) {
    const a = analyzeText(relative(ROOT, abs), readFileSync(abs, 'utf8'));
    if (a) files.push(a);
  }
  return files;
}

const at = (f: Finding) => `${f.ruleId} ${relative(EXAMPLE, join(ROOT, f.path))}:${f.range.start.line + 1}`;
const chain = (f: Finding) => f.related.map((r) => `${relative(EXAMPLE, join(ROOT, r.path))}:${r.range.start.line + 1} ${r.message}`);

function inFile(text: string, path = 'app/web.py'): Finding[] {
  const a = analyzeText(path, text);
  assert.ok(a);
  assert.deepEqual(a.notes, []);
  return evaluate([a]).findings;
}

describe('example py-wsgi-double-wrap (incident 3)', () => {
  const expectedChain = [
    'incident/shelf/framework.py:61 first application: a mounted application built on this code wraps its file response here',
    'incident/shelf/framework.py:36 a sub-application is called here with the same environ; its response may already be wrapped',
    'incident/shelf/framework.py:37 stored in sent.body here',
    'incident/shelf/framework.py:38 returned from mountpoint() here',
    'incident/shelf/framework.py:40 mountpoint() is registered as a callback here',
    'incident/shelf/framework.py:46 callbacks are called here, and what they return is used as the response',
    'incident/shelf/framework.py:46 returned from _handle() here',
    'incident/shelf/framework.py:67 passed to _cast() here',
    'incident/shelf/framework.py:61 wsgi.file_wrapper applied again here',
  ];

  test('incident/ is reported once with its chain (first wrap → second wrap), fixed/ stays silent', () => {
    const { findings, notes } = evaluate(analyzeDir(EXAMPLE));
    assert.deepEqual(notes, []);
    // Every rule: the example must not trip anything else (the handed-on open() included).
    assert.deepEqual(findings.map(at), [`${ID} incident/shelf/framework.py:61`]);
    const [f] = findings;
    assert.equal(
      f.message,
      "environ['wsgi.file_wrapper'] may be applied twice: the response of the application called on line 36 comes back here and may already be a wrapped file, so the file can leak (check for an already wrapped response first)",
    );
    assert.deepEqual(chain(f), expectedChain);
    assert.deepEqual(
      f.fixes.map((x) => `${x.applicability} ${x.title}`),
      ["display-only Guard against wrapping 'out' twice (remember the wrapped response in environ)"],
    );
  });

  test('the CLI reports the incident with the full chain and fails the run', () => {
    ensureBuilt();
    const r = runCli(['scan', 'py-wsgi-double-wrap', '--format', 'json', '--quiet'], { cwd: join(ROOT, 'examples') });
    assert.equal(r.status, 1, r.stderr);
    const report = JSON.parse(r.stdout) as { findings: { ruleId: string; path: string; range: { start: { line: number } }; related: { path: string; range: { start: { line: number } } }[] }[] };
    assert.deepEqual(
      report.findings.map((f) => `${f.ruleId} ${f.path}:${f.range.start.line}`),
      [`${ID} py-wsgi-double-wrap/incident/shelf/framework.py:61`],
    );
    assert.deepEqual(
      report.findings[0].related.map((x) => `${x.path.replace('py-wsgi-double-wrap/incident/', '')}:${x.range.start.line}`),
      ['shelf/framework.py:61', 'shelf/framework.py:36', 'shelf/framework.py:37', 'shelf/framework.py:38', 'shelf/framework.py:40', 'shelf/framework.py:46', 'shelf/framework.py:46', 'shelf/framework.py:67', 'shelf/framework.py:61'],
    );
    const fixed = runCli(['scan', 'py-wsgi-double-wrap/fixed', '--format', 'json', '--quiet'], { cwd: join(ROOT, 'examples') });
    assert.equal(fixed.status, 0, fixed.stderr);
    assert.deepEqual((JSON.parse(fixed.stdout) as { findings: unknown[] }).findings, []);
  });
});

describe('chains of the other shapes', () => {
  test('a direct re-wrap points at the first wrap', () => {
    const text = ['def rewrap(environ, path):', '    wrapper = environ.get("wsgi.file_wrapper")', '    first = wrapper(open(path, "rb"))', '    return wrapper(first)', ''].join('\n');
    const [f, ...rest] = inFile(text).filter((x) => x.ruleId === ID);
    assert.deepEqual(rest, []);
    assert.deepEqual(f.range, { start: { line: 3, character: 11 }, end: { line: 3, character: 25 } });
    assert.deepEqual(
      f.related.map((r) => `${r.range.start.line + 1}:${r.range.start.character + 1} ${r.message}`),
      ['3:13 first application of wsgi.file_wrapper here', '4:12 wsgi.file_wrapper applied again here'],
    );
  });

  test('middleware: from the inner call to where the response is replaced', () => {
    const text = [
      'class NotFound:',
      '    def __call__(self, environ, start_response):',
      '        response = self.app(environ, start_response)',
      '        if environ.get("x"):',
      '            return [b"gone"]',
      '        return response',
      '',
    ].join('\n');
    const [f] = inFile(text).filter((x) => x.ruleId === ID);
    assert.equal(f.message, 'The response of self.app() is replaced without calling its close() (PEP 3333), so what it holds leaks');
    assert.deepEqual(
      f.related.map((r) => `${r.range.start.line + 1} ${r.message}`),
      ['3 the inner application returns its response here', '5 another response is returned here; the inner one is never closed'],
    );
    assert.deepEqual(
      f.fixes.map((x) => [x.applicability, x.edits[0].newText]),
      [['unsafe', '            if hasattr(response, "close"):\n                response.close()\n']],
    );
  });

  test('generator closing a handed-in file after its loop: handed in → yield → close', () => {
    const text = ['def file_iter(fp):', '    for block in fp:', '        yield block', '    fp.close()', ''].join('\n');
    const [f] = inFile(text).filter((x) => x.ruleId === ID);
    assert.deepEqual(
      f.related.map((r) => `${r.range.start.line + 1} ${r.message}`),
      ["1 'fp' is handed in here and the generator closes it", '3 close() on the generator raises GeneratorExit here and skips the rest', '4 closed only here, after full iteration'],
    );
    assert.deepEqual(f.fixes.map((x) => x.applicability), ['safe']);
  });

  test('a file opened inside the generator is left to unreleased-file (one finding, not two)', () => {
    const text = ['def chunks(path):', '    f = open(path, "rb")', '    for block in f:', '        yield block', '    f.close()', ''].join('\n');
    const ids = inFile(text).map((x) => `${x.ruleId}:${x.range.start.line + 1}`);
    assert.deepEqual(ids, ['unreleased-file:2']);
  });
});

describe('chains of the close-lookup shapes', () => {
  const steps = (f: Finding) => f.related.map((r) => `${r.range.start.line + 1} ${r.message}`);
  const only = (text: string) => {
    const found = inFile(text).filter((x) => x.ruleId === ID);
    assert.equal(found.length, 1, found.map((x) => x.message).join('\n'));
    return found[0];
  };

  test('yield from, then close outside finally: the chain says why yield from and except Exception do not close it', () => {
    const f = only(
      [
        'class Debugger:',
        '    def __call__(self, environ, start_response):',
        '        try:',
        '            it = self.app(environ, start_response)',
        '            yield from it',
        '            it.close()',
        '        except Exception:',
        '            it.close()',
        '            yield b"error"',
        '',
      ].join('\n'),
    );
    assert.equal(f.range.start.line + 1, 6);
    assert.deepEqual(steps(f), [
      '4 the inner application returns its response here',
      '5 close() on the generator raises GeneratorExit here and skips the rest; yield from passes close() on only to iter(it), which need not be it itself',
      '8 this close runs for the exceptions its handler catches; GeneratorExit is a BaseException and passes it by',
      '6 closed only here, after full iteration',
    ]);
    // A second close in the handler would run twice after moving this one into finally.
    assert.deepEqual(f.fixes, []);
  });

  test('close() looked up on iter(x): handed in, made an iterator, looked up on the iterator', () => {
    const f = only(['class Closing:', '    def __init__(self, body):', '        it = iter(body)', '        self.next = it.__next__', '        self.closer = getattr(it, "close", None)', ''].join('\n'));
    assert.equal(f.range.start.line + 1, 5);
    assert.deepEqual(steps(f), [
      "2 'body' is handed in here",
      "3 'it' is iter(body) here: a separate iterator object, not the iterable that owns close()",
      "5 close() is looked up here on 'it'; nothing looks it up on 'body'",
    ]);
    assert.deepEqual(f.fixes.map((x) => [x.applicability, x.edits[0].newText]), [['unsafe', 'body']]);
  });

  test('response consumed into a list whose close() is then looked up', () => {
    const f = only(
      [
        'def serve(app, request, start_response):',
        '    out = []',
        '    out.extend(app(make_environ(request), start_response))',
        '    if hasattr(out, "close"):',
        '        out.close()',
        '    return out',
        '',
      ].join('\n'),
    );
    assert.equal(f.message, "The response of app() is copied into 'out' and close() is looked up on 'out' instead of on the response, so the response's own close() is never called (PEP 3333)");
    assert.deepEqual(steps(f), ['3 the inner application returns its response here', "3 the response is consumed into the list 'out' here", "4 close() is looked up here on 'out', not on the response"]);
  });

  test('response consumed, then closed outside finally: safe fix moves the close into finally', () => {
    const f = only(
      ['def serve(app, environ, start_response):', '    out = []', '    r = app(environ, start_response)', '    out.extend(r)', '    r.close()', '    return out', ''].join('\n'),
    );
    assert.deepEqual(steps(f), [
      '3 the inner application returns its response here',
      '4 consumed here; an exception raised by its iterator or by this code leaves before the close',
      '5 closed only here, on the path without an exception',
    ]);
    assert.deepEqual(
      f.fixes.map((x) => [x.applicability, x.edits[0].newText]),
      [['safe', '    try:\n        out.extend(r)\n    finally:\n        r.close()']],
    );
  });

  test('a wrapper whose generator __iter__ re-yields the response, with a base class from elsewhere', () => {
    const f = only(
      [
        'from .base import Stream',
        'class Body(Stream):',
        '    def __init__(self, result):',
        '        self._result = result',
        '    def __iter__(self):',
        '        for part in self._result:',
        '            yield part',
        'def call(app, environ, start_response):',
        '    return Body(app(environ, start_response))',
        '',
      ].join('\n'),
    );
    assert.deepEqual(steps(f), [
      '9 the inner application returns its response here',
      '9 wrapped here in class Body',
      '2 class Body defines no close()',
      '5 its __iter__ re-yields the response through a generator: closing that generator does not close the response, and a base class cannot know where the response is kept',
    ]);
  });

  test('close() forwarded only when the response is truthy: safe with hasattr beside the test, unsafe without', () => {
    const withHasattr = only(
      ['class Empty:', '    def __init__(self, inner=None):', '        if inner and hasattr(inner, "close"):', '            self.close = inner.close', '    def __iter__(self):', '        return iter(())', ''].join('\n'),
    );
    assert.deepEqual(withHasattr.range, { start: { line: 2, character: 11 }, end: { line: 2, character: 16 } });
    assert.deepEqual(steps(withHasattr), [
      "2 'inner' is handed in here: the response whose close() the class takes over",
      "3 'inner' is tested for truthiness here; an empty but closable response is falsy",
      '3 close() is only looked up or called inside that test',
    ]);
    assert.deepEqual(withHasattr.fixes.map((x) => [x.applicability, x.edits[0].newText]), [['safe', 'inner is not None']]);
    const bare = only(['def mw(app):', '    def inner(environ, start_response):', '        r = app(environ, start_response)', '        if r:', '            r.close()', '        return []', '    return inner', ''].join('\n'));
    assert.deepEqual(bare.fixes.map((x) => x.applicability), ['unsafe']);
  });
});

describe('keyword prefilter', () => {
  test('files without a file-wrapper key, an environ name or a yield skip the rule, and it finds nothing there', () => {
    const text = ['def handler(request, respond):', '    body = request.app(request, respond)', '    return [b"".join(body)]', ''].join('\n');
    assert.equal(ruleMayApply(ID, 'python', text), false);
    assert.deepEqual(inFile(text).filter((x) => x.ruleId === ID), []);
  });

  test('an `env` spelled application call still runs the rule', () => {
    const text = ['def mw(app):', '    def inner(env, start_response):', '        return [b"".join(app(env, start_response))]', '    return inner', ''].join('\n');
    assert.equal(ruleMayApply(ID, 'python', text), true);
    assert.deepEqual(inFile(text).filter((x) => x.ruleId === ID).map((x) => x.range.start.line + 1), [3]);
  });
});

/**
 * The language server over a real JSON-RPC connection to the built server process
 * (`node scripts/build.mjs` first). Every wait is for an event (a publish for a URI at a
 * version, a message, a progress notification) with a time limit, never a sleep.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CodeAction, Diagnostic, MarkupContent } from 'vscode-languageserver/node';
import { docsUrl } from '../../server/src/engine/config';
import { loadGrammar, parseSync, syntaxErrorRanges } from '../../server/src/parsing/parser';
import { ruleById } from '../../server/src/rules/index';
import { TestClient, applyTextEdits, editsFor, uriOf } from './client';

/** The early-return leak of the catalog: `fh` is still open when `return None` runs. */
const LEAK = 'def f(p):\n    fh = open(p)\n    if not p:\n        return None\n    data = fh.read()\n    fh.close()\n    return data\n';
const OPEN_CALL = { start: { line: 1, character: 9 }, end: { line: 1, character: 16 } };
const CLEAN = 'def f(p):\n    with open(p) as fh:\n        return fh.read()\n';
const RULE = 'unreleased-file';
const FIX_ALL = 'source.fixAll.hazardLens';

function makeWorkspace(): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hazard-lens-lsp-')));
}

function leaks(diagnostics: Diagnostic[]): Diagnostic[] {
  return diagnostics.filter((d) => d.code === RULE);
}

function assertParses(text: string): void {
  const tree = parseSync(text, 'python');
  try {
    assert.deepEqual(syntaxErrorRanges(tree), [], `fixed text does not parse:\n${text}`);
  } finally {
    tree.delete();
  }
}

async function quickFixes(client: TestClient, uri: string, diagnostic: Diagnostic): Promise<CodeAction[]> {
  return (await client.codeActions(uri, diagnostic.range, { diagnostics: [diagnostic], only: ['quickfix'] })) ?? [];
}

before(async () => {
  await loadGrammar('python');
});

describe('language server', () => {
  let ws: string;
  let client: TestClient;
  let n = 0;
  /** A fresh URI per test, so tests never see each other's publishes. */
  const fresh = (name = 'doc') => uriOf(path.join(ws, `${name}-${++n}.py`));

  before(async () => {
    ws = makeWorkspace();
    client = await TestClient.start({ rootPath: ws });
  });
  after(async () => {
    await client.stop();
    fs.rmSync(ws, { recursive: true, force: true });
  });

  test('initialize announces incremental sync, code actions, hover and the scan command', () => {
    const caps = client.initializeResult.capabilities;
    assert.deepEqual(caps.textDocumentSync, { openClose: true, change: 2, save: { includeText: false } });
    assert.ok(caps.hoverProvider);
    const codeActions = caps.codeActionProvider;
    assert.ok(codeActions && typeof codeActions === 'object');
    assert.deepEqual(codeActions.codeActionKinds, ['quickfix', FIX_ALL]);
    assert.deepEqual(caps.executeCommandProvider?.commands, ['hazardLens.scanWorkspace']);
    assert.equal(client.initializeResult.serverInfo?.name, 'hazard-lens');
  });

  test('an open() that leaks on an early return gives one diagnostic on the call', async () => {
    const uri = fresh('leak');
    await client.open(uri, 'python', LEAK);
    const { diagnostics } = await client.waitForDiagnostics(uri, 1);
    assert.equal(diagnostics.length, 1, JSON.stringify(diagnostics, null, 1));
    const [d] = diagnostics;
    assert.deepEqual(d.range, OPEN_CALL);
    assert.equal(d.code, RULE);
    assert.equal(d.source, 'hazard-lens');
    assert.equal(d.severity, 2);
    assert.deepEqual(d.codeDescription, { href: docsUrl(RULE) });
    assert.ok(d.message.trim().length > 0);
    const related = d.relatedInformation ?? [];
    assert.ok(related.length >= 2, 'evidence chain: opened here … leaks here');
    for (const r of related) {
      assert.equal(r.location.uri, uri);
      assert.ok(r.message.length > 0);
    }
    assert.deepEqual(related[0].location.range, OPEN_CALL);
    assert.match(related[0].message, /opened here/);
    const last = related[related.length - 1];
    assert.equal(last.location.range.start.line, 3, 'the leak is the `return None` on line 4');
    assert.match(last.message, /return/);
    const data = d.data as { version: number; ruleId: string; fixes: unknown[] };
    assert.equal(data.version, 1);
    assert.equal(data.ruleId, RULE);
  });

  test('incremental edits move and then clear the diagnostic; the edited tree matches a fresh parse', async () => {
    const uri = fresh('edit');
    await client.open(uri, 'python', LEAK);
    await client.waitForDiagnostics(uri, 1, (d) => leaks(d).length === 1);
    // Two changes in one notification: a line above the function, then a blank line inside it.
    const v2 = await client.change(uri, [
      { range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: 'import os\n\n' },
      { range: { start: { line: 3, character: 16 }, end: { line: 3, character: 16 } }, text: '\n' },
    ]);
    const moved = await client.waitForDiagnostics(uri, v2);
    assert.deepEqual(
      leaks(moved.diagnostics).map((d) => d.range),
      [{ start: { line: 3, character: 9 }, end: { line: 3, character: 16 } }],
    );
    // Same text opened from scratch: identical diagnostics (the incremental tree is right).
    const check = fresh('edit-check');
    await client.open(check, 'python', client.text(uri));
    const scratch = await client.waitForDiagnostics(check, 1);
    assert.deepEqual(
      scratch.diagnostics.map((d) => [d.code, d.range, d.message]),
      moved.diagnostics.map((d) => [d.code, d.range, d.message]),
    );
    // No handle any more: `open(p)` (now on line 4) becomes `None`.
    const v3 = await client.change(uri, [{ range: { start: { line: 3, character: 9 }, end: { line: 3, character: 16 } }, text: 'None' }]);
    const cleared = await client.waitForDiagnostics(uri, v3);
    assert.deepEqual(leaks(cleared.diagnostics), [], client.text(uri));
  });

  test('the preferred quick fix is safe, its edit parses, and applying it clears the diagnostic', async () => {
    const uri = fresh('fix');
    await client.open(uri, 'python', LEAK);
    const { diagnostics } = await client.waitForDiagnostics(uri, 1, (d) => leaks(d).length === 1);
    const actions = await quickFixes(client, uri, leaks(diagnostics)[0]);
    const preferred = actions.filter((a) => a.isPreferred);
    assert.equal(preferred.length, 1, JSON.stringify(actions, null, 1));
    const fix = preferred[0];
    assert.equal(fix.kind, 'quickfix');
    assert.doesNotMatch(fix.title, /unsafe/);
    for (const a of actions) if (/\(unsafe\)$/.test(a.title)) assert.notEqual(a.isPreferred, true, a.title);
    for (const a of actions) if (a.disabled) assert.equal(a.edit, undefined, 'display-only fixes carry no edit');
    // Versioned edit: the client refuses it once the document moved on.
    assert.deepEqual(fix.edit?.documentChanges?.map((dc) => ('textDocument' in dc ? dc.textDocument : undefined)), [{ uri, version: 1 }]);
    const edits = editsFor(fix.edit, uri);
    assert.ok(edits.length > 0);
    const fixed = applyTextEdits(LEAK, edits);
    assertParses(fixed);
    const version = await client.applyEdits(uri, edits);
    assert.equal(client.text(uri), fixed);
    const after = await client.waitForDiagnostics(uri, version);
    assert.deepEqual(leaks(after.diagnostics), [], fixed);

    const titles = actions.map((a) => a.title);
    assert.ok(titles.includes(`Disable ${RULE} for this line`), titles.join(', '));
    const docs = actions.find((a) => a.title === `Show documentation for ${RULE}`);
    assert.deepEqual(docs?.command, { title: `Show documentation for ${RULE}`, command: 'hazardLens.showDocumentation', arguments: [RULE, docsUrl(RULE)] });
  });

  test('"Disable for this line" inserts the suppression comment above and the diagnostic goes away', async () => {
    const uri = fresh('disable');
    await client.open(uri, 'python', LEAK);
    const { diagnostics } = await client.waitForDiagnostics(uri, 1, (d) => leaks(d).length === 1);
    const actions = await quickFixes(client, uri, leaks(diagnostics)[0]);
    const disable = actions.find((a) => a.title === `Disable ${RULE} for this line`);
    assert.ok(disable, JSON.stringify(actions.map((a) => a.title)));
    assert.notEqual(disable.isPreferred, true);
    const edits = editsFor(disable.edit, uri);
    const version = await client.applyEdits(uri, edits);
    assert.equal(client.text(uri).split('\n')[1], `    # hazard-lens: ignore[${RULE}]`);
    const after = await client.waitForDiagnostics(uri, version);
    assert.deepEqual(after.diagnostics, [], 'suppressed, and the suppression is used');
  });

  test('"Disable for this file" writes ignore-file after the #! and coding lines, then adds to it', async () => {
    const uri = fresh('disable-file');
    const header = '#!/usr/bin/env python3\n# -*- coding: utf-8 -*-\n';
    const twoLeaks = `${header}${LEAK}def g(p):\n    return open(p).read()\n`;
    await client.open(uri, 'python', twoLeaks);
    const { diagnostics } = await client.waitForDiagnostics(uri, 1, (d) => leaks(d).length === 2);
    const disable = (await quickFixes(client, uri, leaks(diagnostics)[0])).find((a) => a.title === `Disable ${RULE} for this file`);
    assert.ok(disable);
    const version = await client.applyEdits(uri, editsFor(disable.edit, uri));
    assert.equal(client.text(uri), `${header}# hazard-lens: ignore-file[${RULE}]\n${LEAK}def g(p):\n    return open(p).read()\n`);
    const after = await client.waitForDiagnostics(uri, version);
    assert.deepEqual(after.diagnostics, [], 'both findings suppressed');

    // A file that already has an ignore-file comment gets the id added to it.
    const other = uriOf(path.join(ws, `disable-file-${++n}.c`));
    const c = '// hazard-lens: ignore-file[fd-without-cloexec]\n#include <stdio.h>\nint first(const char *p)\n{\n  FILE *f = fopen(p, "r");\n  return f != NULL;\n}\n';
    await client.open(other, 'c', c);
    const cDiagnostics = await client.waitForDiagnostics(other, 1, (d) => leaks(d).length === 1);
    const cDisable = (await quickFixes(client, other, leaks(cDiagnostics.diagnostics)[0])).find((a) => a.title === `Disable ${RULE} for this file`);
    assert.ok(cDisable);
    await client.applyEdits(other, editsFor(cDisable.edit, other));
    assert.equal(client.text(other).split('\n')[0], `// hazard-lens: ignore-file[fd-without-cloexec, ${RULE}]`);
  });

  test('stale versions are dropped: two quick changes publish only the last version', async () => {
    const uri = fresh('stale');
    await client.open(uri, 'python', LEAK);
    const first = await client.waitForDiagnostics(uri, 1);
    const from = client.diagnostics.events.length;
    const v2 = await client.change(uri, [{ range: { start: { line: 6, character: 15 }, end: { line: 6, character: 15 } }, text: ' ' }]);
    const v3 = await client.change(uri, [{ range: { start: { line: 6, character: 16 }, end: { line: 6, character: 16 } }, text: ' ' }]);
    const last = await client.waitForDiagnostics(uri, v3, undefined, { from });
    assert.equal(last.version, 3);
    const published = client.diagnostics.events.slice(from).filter((p) => p.uri === uri);
    assert.deepEqual(
      published.map((p) => p.version),
      [v3],
      `version ${v2} must never be published`,
    );
    // Code actions for a diagnostic of version 1 are stale now: nothing is offered.
    const old = leaks(first.diagnostics)[0];
    assert.ok(old, 'version 1 had the leak');
    assert.deepEqual(await quickFixes(client, uri, old), []);
  });

  test('source.fixAll.hazardLens applies the safe fixes as one whole-document edit', async () => {
    const uri = fresh('fixall');
    await client.open(uri, 'python', LEAK);
    await client.waitForDiagnostics(uri, 1, (d) => leaks(d).length === 1);
    const actions = (await client.codeActions(uri, OPEN_CALL, { diagnostics: [], only: [FIX_ALL] })) ?? [];
    assert.equal(actions.length, 1, JSON.stringify(actions, null, 1));
    assert.equal(actions[0].kind, FIX_ALL);
    const edits = editsFor(actions[0].edit, uri);
    assert.equal(edits.length, 1);
    assert.deepEqual(edits[0].range, { start: { line: 0, character: 0 }, end: { line: 7, character: 0 } });
    assertParses(edits[0].newText);
    const version = await client.applyEdits(uri, edits);
    const after = await client.waitForDiagnostics(uri, version);
    assert.deepEqual(leaks(after.diagnostics), []);
    // Asked for `source` in general, a file with nothing to fix offers nothing.
    assert.deepEqual(await client.codeActions(uri, OPEN_CALL, { diagnostics: [], only: ['source'] }), []);
  });

  test('source.fixAll.hazardLens fixes what the parser read and leaves the lines it could not read as they are', async () => {
    const uri = fresh('broken');
    const broken = '\ndef broken(:\n    pass\n';
    await client.open(uri, 'python', `${LEAK}${broken}`);
    await client.waitForDiagnostics(uri, 1, (d) => leaks(d).length === 1);
    const actions = (await client.codeActions(uri, OPEN_CALL, { diagnostics: [], only: [FIX_ALL] })) ?? [];
    assert.equal(actions.length, 1, JSON.stringify(actions, null, 1));
    const edits = editsFor(actions[0].edit, uri);
    assert.equal(edits.length, 1);
    assert.ok(edits[0].newText.includes('    with open(p) as fh:'), edits[0].newText);
    assert.ok(edits[0].newText.endsWith(broken), edits[0].newText);
  });

  test('hover over a finding shows the rule summary, severity and docs link', async () => {
    const uri = fresh('hover');
    await client.open(uri, 'python', LEAK);
    await client.waitForDiagnostics(uri, 1, (d) => leaks(d).length === 1);
    const hover = await client.hover(uri, { line: 1, character: 11 });
    assert.ok(hover, 'a hover inside the open() call');
    const contents = hover.contents as MarkupContent;
    assert.equal(contents.kind, 'markdown');
    assert.ok(contents.value.includes(RULE));
    assert.ok(contents.value.includes(ruleById(RULE)!.meta.summary));
    assert.ok(contents.value.includes('(warning)'));
    assert.ok(contents.value.includes(`(${docsUrl(RULE)})`));
    assert.deepEqual(hover.range, OPEN_CALL);
    assert.equal(await client.hover(uri, { line: 0, character: 0 }), null);
  });

  test('hover lists the remedies that are never applied automatically (display-only fixes)', async () => {
    const uri = uriOf(path.join(ws, `daemon-${++n}.c`));
    const text = '#include <unistd.h>\nvoid serve(void);\nvoid start(void)\n{\n  if (fork() == 0) {\n    closefrom(3);\n    serve();\n    _exit(0);\n  }\n}\n';
    await client.open(uri, 'c', text);
    const { diagnostics } = await client.waitForDiagnostics(uri, 1, (d) => d.some((x) => x.code === 'close-all-fds-without-exec'));
    const closeAll = diagnostics.find((d) => d.code === 'close-all-fds-without-exec')!;
    const hover = await client.hover(uri, closeAll.range.start);
    const value = (hover?.contents as MarkupContent).value;
    assert.ok(
      value.includes(
        [
          'Remedies to apply by hand (they need a judgement Hazard Lens cannot make):',
          '- Keep the descriptors that must survive (log sockets, random-device fds): skip them in the loop, or close only the ones this program opened',
          '- If the child is meant to run another program: mark descriptors close-on-exec with close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) and exec it',
        ].join('\n'),
      ),
      value,
    );
    // A finding whose fixes are all applicable lists no remedies.
    const leak = fresh('no-remedies');
    await client.open(leak, 'python', LEAK);
    await client.waitForDiagnostics(leak, 1, (d) => leaks(d).length === 1);
    const plain = await client.hover(leak, { line: 1, character: 11 });
    assert.ok((plain?.contents as MarkupContent).value.includes(RULE));
    assert.doesNotMatch((plain?.contents as MarkupContent).value, /Remedies to apply by hand/);
  });

  test('an unused suppression is a hint tagged unnecessary, and can be removed', async () => {
    const uri = fresh('unused');
    const text = `def g(p):\n    # hazard-lens: ignore[${RULE}]\n    with open(p) as fh:\n        return fh.read()\n`;
    await client.open(uri, 'python', text);
    const { diagnostics } = await client.waitForDiagnostics(uri, 1);
    assert.equal(diagnostics.length, 1, JSON.stringify(diagnostics, null, 1));
    const [d] = diagnostics;
    assert.equal(d.code, 'unused-suppression');
    assert.equal(d.severity, 4);
    assert.deepEqual(d.tags, [1]);
    assert.deepEqual(d.codeDescription, { href: docsUrl('unused-suppression') });
    const actions = await quickFixes(client, uri, d);
    const remove = actions.find((a) => a.title === `Remove unused suppression of ${RULE}`);
    assert.ok(remove, JSON.stringify(actions.map((a) => a.title)));
    const version = await client.applyEdits(uri, editsFor(remove.edit, uri));
    assert.equal(client.text(uri), CLEAN.replace('def f', 'def g'));
    const after = await client.waitForDiagnostics(uri, version);
    assert.deepEqual(after.diagnostics, []);
  });

  test('closing a document clears its diagnostics', async () => {
    const uri = fresh('close');
    await client.open(uri, 'python', LEAK);
    await client.waitForDiagnostics(uri, 1, (d) => d.length > 0);
    const from = client.diagnostics.events.length;
    await client.close(uri);
    await client.waitForDiagnostics(uri, 'any', (d) => d.length === 0, { from });
  });

  test('the status notification counts the findings', async () => {
    const uri = fresh('status');
    await client.open(uri, 'python', LEAK);
    await client.waitForDiagnostics(uri, 1, (d) => leaks(d).length === 1);
    const status = await client.status.waitFor((s) => (s as { findings: number }).findings >= 1, 'a status with findings');
    assert.deepEqual(Object.keys(status as object).sort(), ['errors', 'files', 'findings', 'scanning', 'warnings']);
  });
});

describe('settings', () => {
  let ws: string;
  let client: TestClient;
  before(async () => {
    ws = makeWorkspace();
    client = await TestClient.start({ rootPath: ws, settings: { rules: 42, run: 'sometimes' } });
  });
  after(async () => {
    await client.stop();
    fs.rmSync(ws, { recursive: true, force: true });
  });

  test('bad values give one warning and diagnostics still work with the defaults', async () => {
    const uri = uriOf(path.join(ws, 'a.py'));
    await client.open(uri, 'python', LEAK);
    const warning = await client.messages.waitFor((m) => m.type === 2, 'a warning about the settings');
    assert.match(warning.message, /"rules" is invalid/);
    assert.match(warning.message, /"run" is invalid/);
    const { diagnostics } = await client.waitForDiagnostics(uri, 1);
    assert.equal(leaks(diagnostics).length, 1);

    // The same bad values again (a re-read after a change): no second warning.
    const from = client.diagnostics.events.length;
    await client.changeSettings({ rules: 42, run: 'sometimes' });
    await client.waitForDiagnostics(uri, 1, undefined, { from });
    assert.equal(client.messages.events.filter((m) => m.type === 2).length, 1);

    // Good values re-validate open documents.
    await client.changeSettings({ rules: { [RULE]: 'error' }, run: 'onType' });
    const error = await client.waitForDiagnostics(uri, 1, (d) => leaks(d).some((x) => x.severity === 1));
    assert.equal(leaks(error.diagnostics).length, 1);
    await client.changeSettings({ rules: { [RULE]: 'off' } });
    await client.waitForDiagnostics(uri, 1, (d) => d.length === 0);
  });

  test('docsUrlTemplate changes the codeDescription link', async () => {
    const uri = uriOf(path.join(ws, 'docs.py'));
    await client.changeSettings({ docsUrlTemplate: 'https://docs.example/{id}.html' });
    await client.open(uri, 'python', LEAK);
    const { diagnostics } = await client.waitForDiagnostics(uri, 1, (d) => leaks(d).length === 1);
    assert.equal(leaks(diagnostics)[0].codeDescription?.href, 'https://docs.example/unreleased-file.html');
  });

  test('hazardLens.exclude silences matching open documents', async () => {
    await client.changeSettings({ exclude: ['generated/'] });
    const uri = uriOf(path.join(ws, 'generated', 'x.py'));
    await client.open(uri, 'python', LEAK);
    const { diagnostics } = await client.waitForDiagnostics(uri, 1);
    assert.deepEqual(diagnostics, []);
  });

  test('run: onSave analyses on save, not on change', async () => {
    await client.changeSettings({ run: 'onSave' });
    const uri = uriOf(path.join(ws, 'save.py'));
    await client.open(uri, 'python', LEAK);
    await client.waitForDiagnostics(uri, 1, (d) => leaks(d).length === 1);
    const from = client.diagnostics.events.length;
    const v2 = await client.change(uri, [{ range: OPEN_CALL, text: 'None' }]);
    // Barrier: a document opened after the change is analysed after any pass the change started.
    const barrier = uriOf(path.join(ws, 'barrier.py'));
    await client.open(barrier, 'python', CLEAN);
    await client.waitForDiagnostics(barrier, 1, undefined, { from });
    assert.deepEqual(
      client.diagnostics.events.slice(from).filter((p) => p.uri === uri),
      [],
      'no analysis on change',
    );
    await client.save(uri);
    const saved = await client.waitForDiagnostics(uri, v2, undefined, { from });
    assert.deepEqual(leaks(saved.diagnostics), []);
  });
});

describe('workspace scan', () => {
  let ws: string;
  let client: TestClient;
  const write = (rel: string, text: string) => {
    const p = path.join(ws, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, text);
    return p;
  };
  before(async () => {
    ws = makeWorkspace();
    write('never_opened.py', LEAK);
    write('clean.py', CLEAN);
    write('open_in_editor.py', LEAK);
    write('.gitignore', 'ignored/\n');
    write('ignored/skip.py', LEAK);
    write('hidden/skip.py', LEAK);
    client = await TestClient.start({ rootPath: ws, filesExclude: { '**/hidden': true, '**/shown': false } });
  });
  after(async () => {
    await client.stop();
    fs.rmSync(ws, { recursive: true, force: true });
  });

  test('publishes diagnostics for files never opened, with progress, honouring .gitignore and files.exclude', async () => {
    const opened = uriOf(path.join(ws, 'open_in_editor.py'));
    // The editor buffer (clean) wins over the leaking text on disk.
    await client.open(opened, 'python', CLEAN);
    await client.waitForDiagnostics(opened, 1);
    const from = client.diagnostics.events.length;
    const summary = await client.executeCommand<{ files: number; findings: number; cancelled: boolean; error?: string }>('hazardLens.scanWorkspace');
    assert.equal(summary.error, undefined, summary.error);
    assert.equal(summary.cancelled, false);
    assert.equal(summary.files, 3, 'never_opened.py, clean.py, open_in_editor.py');

    const target = uriOf(path.join(ws, 'never_opened.py'));
    const published = await client.waitForDiagnostics(target, undefined, (d) => leaks(d).length === 1, { from });
    assert.deepEqual(leaks(published.diagnostics)[0].range, OPEN_CALL);
    assert.equal(summary.findings, 1);
    const since = client.diagnostics.events.slice(from).map((p) => p.uri);
    for (const skipped of ['ignored/skip.py', 'hidden/skip.py', 'open_in_editor.py', 'clean.py']) {
      assert.ok(!since.includes(uriOf(path.join(ws, skipped))), `${skipped} must not be published by the scan`);
    }

    // Server-initiated, cancellable progress: begin … "n/m files" … end. (The background
    // index shows a progress of its own when it takes longer than its delay: not counted.)
    const scanTokens = client.progressTokens.filter((t) => client.progress.events.some((e) => e.token === t && e.value.kind === 'begin' && !/indexing/.test(e.value.title ?? '')));
    assert.equal(scanTokens.length, 1);
    const token = scanTokens[0];
    const events = client.progress.events.filter((e) => e.token === token).map((e) => e.value);
    assert.equal(events[0].kind, 'begin');
    assert.equal(events[0].cancellable, true);
    assert.ok(events.some((e) => e.kind === 'report' && /^\d+\/\d+ files/.test(e.message ?? '')), JSON.stringify(events));
    assert.equal(events[events.length - 1].kind, 'end');
  });

  test('before its own pass, an open document gets the fixes of its disk analysis while its text is unchanged', async () => {
    // A second client whose documents' own passes never run in this test.
    const slow = await TestClient.start({ rootPath: ws, initializationOptions: { debounceMs: 600_000 } });
    try {
      const target = uriOf(write('opened_early.py', LEAK));
      await slow.open(target, 'python', LEAK);
      const from = slow.diagnostics.events.length;
      await slow.executeCommand('hazardLens.scanWorkspace');
      const published = await slow.waitForDiagnostics(target, undefined, (d) => leaks(d).length === 1, { from });
      assert.equal(published.version, undefined, 'published from the disk analysis');
      const fix = (await quickFixes(slow, target, leaks(published.diagnostics)[0])).find((a) => a.isPreferred);
      assert.ok(fix, 'the safe fix is offered');
      assert.deepEqual(applyTextEdits(LEAK, editsFor(fix.edit, target)), 'def f(p):\n    with open(p) as fh:\n        if not p:\n            return None\n        data = fh.read()\n    return data\n');
      // Once the buffer differs from the disk text, those fixes are stale.
      await slow.change(target, [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: '\n' }]);
      assert.deepEqual((await quickFixes(slow, target, leaks(published.diagnostics)[0])).filter((a) => a.edit), []);
    } finally {
      await slow.stop();
      fs.rmSync(path.join(ws, 'opened_early.py'), { force: true });
    }
  });

  test('a re-scan clears diagnostics of files that became clean', async () => {
    const target = uriOf(path.join(ws, 'never_opened.py'));
    await client.waitForDiagnostics(target, undefined, (d) => leaks(d).length === 1);
    write('never_opened.py', CLEAN);
    const from = client.diagnostics.events.length;
    const summary = await client.executeCommand<{ findings: number }>('hazardLens.scanWorkspace');
    assert.equal(summary.findings, 0);
    await client.waitForDiagnostics(target, undefined, (d) => d.length === 0, { from });
  });
});

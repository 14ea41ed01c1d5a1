/**
 * File names as text (`server/src/text/file-names.ts`): bytes that are not UTF-8 survive the
 * trip to a string and back, and paths are shown on one line whatever they hold.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fileUriOf, fsPath, hasEscapedBytes, nameFromBytes, pathBytes, pathOfFileUri, shownPath } from '../../server/src/text/file-names';
import { pathToUri, uriToPath } from '../../server/src/lsp/paths';

describe('file names that are not UTF-8', () => {
  test('each byte that is not UTF-8 becomes U+DC80-U+DCFF and comes back as the same byte', () => {
    const cases: number[][] = [
      [0x63, 0x61, 0x66, 0xe9, 0x2e, 0x70, 0x79], // Latin-1 "café.py"
      [0xff, 0xfe, 0x41],
      [0xc3, 0xa9, 0x80], // a valid "é", then a lone continuation byte
      [0xe2, 0x82], // a truncated three-byte sequence
      [0xed, 0xa0, 0x80], // an encoded surrogate (not UTF-8)
      [0xc0, 0xaf], // an overlong "/"
      [0xf0, 0x9f, 0x98, 0x80], // a valid emoji
    ];
    for (const bytes of cases) {
      const name = nameFromBytes(Buffer.from(bytes));
      assert.deepEqual([...pathBytes(name)], bytes, name);
    }
    assert.equal(nameFromBytes(Buffer.from([0x63, 0xe9])), 'c\udce9');
    assert.equal(nameFromBytes(Buffer.from('café.py')), 'café.py');
    assert.equal(nameFromBytes(Buffer.from([0xc3, 0xa9, 0x80])), '\u00e9\udc80');
  });

  test('a UTF-8 name is left a string; one with escaped bytes becomes a Buffer for fs', () => {
    assert.equal(fsPath('/src/café.py'), '/src/café.py');
    assert.equal(hasEscapedBytes('/src/😀.py'), false);
    const p = fsPath('/src/caf\udce9.py');
    assert.ok(Buffer.isBuffer(p));
    assert.deepEqual([...p], [...Buffer.from('/src/caf'), 0xe9, ...Buffer.from('.py')]);
  });

  test('file URIs keep the bytes (SARIF, the language server): percent-encoded, and back to the same path', { skip: process.platform === 'win32' ? 'POSIX paths' : false }, () => {
    const odd = '/src/caf\udce9 x.py';
    assert.equal(fileUriOf(odd), 'file:///src/caf%E9%20x.py');
    assert.equal(pathOfFileUri('file:///src/caf%E9%20x.py'), odd);
    // Valid UTF-8 names are what pathToFileURL makes of them, both ways.
    assert.equal(fileUriOf('/src/café.py'), 'file:///src/caf%C3%A9.py');
    assert.equal(pathOfFileUri('file:///src/caf%C3%A9.py'), '/src/café.py');
    // The language server publishes diagnostics under that URI, and maps the editor's URI back.
    assert.equal(pathToUri(odd), 'file:///src/caf%E9%20x.py');
    assert.equal(uriToPath(pathToUri(odd)), odd);
  });
});

describe('paths shown on one line', () => {
  test('plain paths are unchanged', () => {
    for (const p of ['src/app.py', 'dir with spaces/é.py', 'emoji/😀.ts', "it's.c"]) assert.equal(shownPath(p), p);
  });
  test('control characters, bidi controls, quotes, backslashes and escaped bytes: quoted with C escapes', () => {
    assert.equal(shownPath('new\nline.py'), '"new\\nline.py"');
    assert.equal(shownPath('a\rb\tc.py'), '"a\\rb\\tc.py"');
    assert.equal(shownPath('bell\x07.py'), '"bell\\x07.py"');
    assert.equal(shownPath('next\u0085line.py'), '"next\\u0085line.py"');
    assert.equal(shownPath('\u202eyp.evil.py'), '"\\u202eyp.evil.py"');
    assert.equal(shownPath('line\u2028sep.py'), '"line\\u2028sep.py"');
    assert.equal(shownPath('caf\udce9.py'), '"caf\\xe9.py"');
    assert.equal(shownPath('back\\slash\n.py'), '"back\\\\slash\\n.py"');
    assert.equal(shownPath('say "hi".py'), '"say \\"hi\\".py"');
    assert.equal(shownPath('😀\n.py'), '"😀\\n.py"');
  });
});

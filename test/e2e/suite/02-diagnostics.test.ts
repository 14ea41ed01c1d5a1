/// <reference types="mocha" />
/**
 * Diagnostics of the examples as the editor shows them: rule id in `code`, the docs page as
 * its target, the range of the opening call, the severity, a message that stands alone, and
 * the evidence chain as related locations. The corrected functions stay silent.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { DOCS_BASE, describe, docsHref, fileUri, openFile, ruleId, waitForDiagnostics } from './helpers';

interface Expected {
  /** 0-based line of the opening call (the finding's range). */
  line: number;
  /** The text the range covers. */
  text: string;
  /** Words the message must contain (the handle, the API). */
  mentions: string[];
  /** 0-based lines where the leak may be reported (the last related location). */
  leakLines: number[];
}

const EXPECTED: Record<string, Expected[]> = {
  'python/static_files.py': [
    // serve(): the early 413 return skips fh.close() (fh.read() raising is the other leak).
    { line: 7, text: 'open(path, "rb")', mentions: ['fh', 'open'], leakLines: [8, 11, 12] },
    // read_version(): nothing ever binds, let alone closes, this file.
    { line: 34, text: 'open(path)', mentions: ['open'], leakLines: [34] },
  ],
  'c/config_reader.c': [
    // read_port(): `goto bad_value` reaches `return -2` without fclose(fp).
    { line: 7, text: 'fopen(path, "r")', mentions: ['fp', 'fopen'], leakLines: [14, 21, 22, 23] },
  ],
  'typescript/download.ts': [
    // firstBytes(): stat() throwing or the size-0 return leaks the FileHandle.
    { line: 6, text: "open(path, 'r')", mentions: ['fh', 'open'], leakLines: [7, 8, 10] },
    // sendFile(): the 400 response returns without destroying the stream.
    { line: 31, text: 'createReadStream(path)', mentions: ['stream', 'createReadStream'], leakLines: [35] },
  ],
};

suite('diagnostics of the examples', () => {
  for (const [file, expected] of Object.entries(EXPECTED)) {
    test(`${file}: ${expected.length} unreleased-file finding(s) with range, docs link and evidence`, async () => {
      const uri = fileUri(file);
      const editor = await openFile(file);
      const doc = editor.document;
      const all = await waitForDiagnostics(
        uri,
        (d) => d.filter((x) => ruleId(x) === 'unreleased-file').length === expected.length,
        `${expected.length} unreleased-file diagnostics`,
      );

      // Every diagnostic of ours, whatever the rule: an id, a docs link derived from it, a message.
      for (const d of all) {
        const id = ruleId(d);
        assert.ok(id && /^[a-z0-9-]+$/.test(id), `diagnostic without a rule id: ${describe([d])}`);
        assert.equal(docsHref(d), `${DOCS_BASE}${id}.md`, `docs link of ${id}`);
        assert.ok(d.message.trim().length > 10, `message too short: "${d.message}"`);
      }

      const findings = all.filter((d) => ruleId(d) === 'unreleased-file').sort((a, b) => a.range.start.line - b.range.start.line);
      assert.deepEqual(
        findings.map((d) => d.range.start.line),
        expected.map((e) => e.line),
        `lines of the findings:\n    ${describe(findings)}`,
      );
      findings.forEach((d, i) => {
        const want = expected[i];
        assert.equal(doc.getText(d.range), want.text, `range of the finding on line ${want.line + 1}`);
        assert.equal(d.severity, vscode.DiagnosticSeverity.Warning, 'default severity of unreleased-file');
        for (const word of want.mentions) assert.ok(d.message.includes(word), `message "${d.message}" should mention ${word}`);

        const related = d.relatedInformation ?? [];
        assert.ok(related.length >= 2, `expected an evidence chain (open → leak), got ${related.length} related location(s)`);
        for (const r of related) {
          assert.equal(r.location.uri.toString(), uri.toString(), 'evidence stays in the file');
          assert.ok(r.message.trim().length > 0, 'every related location says what it shows');
        }
        assert.ok(
          related.some((r) => r.location.range.isEqual(d.range)),
          `one related location is the opening call: ${related.map((r) => `${r.location.range.start.line + 1}: ${r.message}`).join('; ')}`,
        );
        const leak = related[related.length - 1];
        assert.ok(
          want.leakLines.includes(leak.location.range.start.line),
          `the last related location should be the leak (0-based lines ${want.leakLines.join('/')}), got line ${leak.location.range.start.line}: ${leak.message}`,
        );
      });
    });
  }
});

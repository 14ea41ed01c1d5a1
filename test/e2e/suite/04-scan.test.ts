/// <reference types="mocha" />
/**
 * `Hazard Lens: Scan Workspace` analyses files nobody opened and fills the Problems panel
 * with their findings. The files are written by the test and never opened in an editor.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { fileUri, ruleId, waitForDiagnostics } from './helpers';

const FILES: Record<string, string> = {
  'scan-only/head.py': [
    'def head(path):',
    '    f = open(path)',
    '    first = f.readline()',
    '    if not first:',
    '        return None',
    '    f.close()',
    '    return first',
    '',
  ].join('\n'),
  'scan-only/first_char.c': [
    '#include <stdio.h>',
    '',
    'int first_char(const char *path)',
    '{',
    '    FILE *f = fopen(path, "r");',
    '    if (f == NULL)',
    '        return -1;',
    '    int c = fgetc(f);',
    '    if (c == EOF)',
    '        return -1;',
    '    fclose(f);',
    '    return c;',
    '}',
    '',
  ].join('\n'),
  'scan-only/first-byte.ts': [
    "import { closeSync, openSync, readSync } from 'node:fs';",
    '',
    'export function firstByte(path: string): number {',
    "  const fd = openSync(path, 'r');",
    '  const buf = Buffer.alloc(1);',
    '  if (readSync(fd, buf, 0, 1, 0) === 0) return -1;',
    '  closeSync(fd);',
    '  return buf[0];',
    '}',
    '',
  ].join('\n'),
};

/** 0-based line of the opening call in each file above. */
const OPEN_LINE: Record<string, number> = { 'scan-only/head.py': 1, 'scan-only/first_char.c': 4, 'scan-only/first-byte.ts': 3 };

suite('workspace scan', () => {
  suiteSetup(async () => {
    for (const [file, text] of Object.entries(FILES)) {
      await vscode.workspace.fs.writeFile(fileUri(file), new TextEncoder().encode(text));
    }
  });

  suiteTeardown(async () => {
    await vscode.workspace.fs.delete(fileUri('scan-only'), { recursive: true, useTrash: false });
  });

  test('Hazard Lens: Scan Workspace reports findings of files that are not open', async () => {
    const open = new Set(vscode.workspace.textDocuments.map((d) => d.uri.toString()));
    for (const file of Object.keys(FILES)) assert.ok(!open.has(fileUri(file).toString()), `${file} must not be open`);

    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes('hazardLens.scanWorkspace'), 'the scan command is registered');
    const waits = Object.keys(FILES).map((file) =>
      waitForDiagnostics(
        fileUri(file),
        (d) => d.some((x) => ruleId(x) === 'unreleased-file' && x.range.start.line === OPEN_LINE[file]),
        `the scan's unreleased-file finding on line ${OPEN_LINE[file] + 1}`,
      ),
    );
    await vscode.commands.executeCommand('hazardLens.scanWorkspace');
    await Promise.all(waits);

    // The scan does not open what it analyses.
    const nowOpen = new Set(vscode.workspace.textDocuments.map((d) => d.uri.toString()));
    for (const file of Object.keys(FILES)) assert.ok(!nowOpen.has(fileUri(file).toString()), `${file} was opened by the scan`);
  });
});

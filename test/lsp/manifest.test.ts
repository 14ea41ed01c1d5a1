/**
 * The manifest and the server agree: every setting the engine parses is declared (resource
 * scope, same default), nothing else is, and the commands and activation events the client
 * relies on are there.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { DEFAULT_CONFIG, SEVERITY_SETTINGS } from '../../server/src/engine/config';
import { COMMANDS } from '../../server/src/lsp/protocol';

interface Property {
  type: string;
  default: unknown;
  description?: string;
  scope?: string;
  enum?: string[];
  additionalProperties?: { enum?: string[] };
}

const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
  activationEvents: string[];
  capabilities: { untrustedWorkspaces: { supported: boolean | 'limited'; description?: string; restrictedConfigurations?: string[] }; virtualWorkspaces: boolean };
  contributes: { configuration: { properties: Record<string, Property> }; commands: { command: string; title: string; category?: string }[] };
};
const properties = manifest.contributes.configuration.properties;
/** Read by vscode-languageclient itself, not by the engine. */
const CLIENT_ONLY = new Set(['hazardLens.trace.server', 'hazardLens.enable']);
/** Read from `.hazard-lens.json` only (models of the user's libraries; see docs/knowledge.md). */
const FILE_ONLY = new Set(['knowledge']);

test('every engine setting is declared with its default, a description and resource scope', () => {
  for (const [key, value] of Object.entries(DEFAULT_CONFIG)) {
    if (FILE_ONLY.has(key)) continue;
    const p = properties[`hazardLens.${key}`];
    assert.ok(p, `hazardLens.${key} is not declared`);
    assert.deepEqual(p.default, value, `default of hazardLens.${key}`);
    assert.ok(p.description && p.description.length > 10, `description of hazardLens.${key}`);
    assert.equal(p.scope, 'resource', `scope of hazardLens.${key}`);
  }
  for (const name of Object.keys(properties)) {
    if (CLIENT_ONLY.has(name)) continue;
    assert.ok(name.replace(/^hazardLens\./, '') in DEFAULT_CONFIG, `${name} is declared but the engine does not read it`);
  }
  assert.deepEqual(properties['hazardLens.run'].enum, ['onType', 'onSave']);
  assert.deepEqual(properties['hazardLens.rules'].additionalProperties?.enum, [...SEVERITY_SETTINGS]);
});

test('commands, activation and workspace trust', () => {
  const declared = manifest.contributes.commands.map((c) => c.command).sort();
  assert.deepEqual(declared, Object.values(COMMANDS).sort());
  for (const c of manifest.contributes.commands) assert.equal(c.category, 'Hazard Lens');
  for (const language of ['c', 'python', 'typescript', 'typescriptreact', 'javascript', 'javascriptreact']) assert.ok(manifest.activationEvents.includes(`onLanguage:${language}`));
  for (const command of Object.values(COMMANDS)) assert.ok(manifest.activationEvents.includes(`onCommand:${command}`));
  // A project of one of the languages activates the extension before a file is opened.
  for (const extension of ['c', 'h', 'py', 'ts', 'tsx', 'js', 'jsx', 'mjs', 'cjs']) assert.ok(manifest.activationEvents.includes(`workspaceContains:**/*.${extension}`), extension);
  // The client's own switch: window scope (it starts or stops the server for the window).
  assert.deepEqual(properties['hazardLens.enable'], {
    type: 'boolean',
    default: true,
    scope: 'window',
    description: properties['hazardLens.enable'].description,
  });
  // Analysis never runs workspace code, so untrusted workspaces are analysed fully; only the
  // cache folder (a place the extension writes to) is not taken from an untrusted workspace.
  assert.equal(manifest.capabilities.untrustedWorkspaces.supported, 'limited');
  assert.deepEqual(manifest.capabilities.untrustedWorkspaces.restrictedConfigurations, ['hazardLens.cacheDir']);
  assert.equal(manifest.capabilities.virtualWorkspaces, false);
});

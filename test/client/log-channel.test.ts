/**
 * The client's log channel adapter (client/src/log-channel.ts): the language client's
 * prefixed lines become messages of their level; other calls reach the channel itself.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LogOutputChannel } from 'vscode';
import { leveledChannel } from '../../client/src/log-channel';

test('prefixed lines are logged at their level, without the prefix; plain lines are info', () => {
  const seen: string[] = [];
  const record = (level: string) => (message: string) => seen.push(`${level}: ${message}`);
  const fake = {
    name: 'Hazard Lens',
    error: record('error'),
    warn: record('warn'),
    info: record('info'),
    debug: record('debug'),
    trace: record('trace'),
    show: () => seen.push('shown'),
  } as unknown as LogOutputChannel;
  const channel = leveledChannel(fake);
  channel.appendLine('[Error - 10:42:07 AM] analysing /w/a.py failed');
  channel.appendLine('[Warn  - 10:42:08 AM] /w/b.py: not analysed: too deep');
  channel.appendLine('[Info  - 10:42:09 AM] settings in use (rules)');
  channel.appendLine('[Debug - 10:42:10 AM] analysed /w/a.py v3 in 12 ms');
  channel.appendLine('Restarting the Hazard Lens server');
  channel.show(true);
  assert.equal(channel.name, 'Hazard Lens');
  assert.deepEqual(seen, [
    'error: analysing /w/a.py failed',
    'warn: /w/b.py: not analysed: too deep',
    'info: settings in use (rules)',
    'debug: analysed /w/a.py v3 in 12 ms',
    'info: Restarting the Hazard Lens server',
    'shown',
  ]);
});

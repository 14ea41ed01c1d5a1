#!/usr/bin/env node
// UI check with screenshots: installs the packed .vsix into a clean code-server (the way a
// user would), opens a copy of examples/ in headless Chromium and drives the workbench:
//
//   scan-progress.png   Hazard Lens: Scan Workspace running (status bar progress)
//   problems-panel.png  the Problems panel the scan filled, with no file open
//   inline-warning.png  an example open, the squiggle and its hover (message, rule, docs link)
//   quick-fix.png       the quick-fix menu on the squiggle
//
// Each step waits for what it shows and fails with a message when it does not appear, so the
// script is also a UI test of the shipped artefact (CI runs it after the e2e suite).
// Screenshots go to docs/images/, and only when every step passed.
//
// Usage: node scripts/e2e/screenshots.mjs [--no-build] [--extension DIR] [--out DIR]
//   --extension DIR   load this extension folder (development mode) instead of the .vsix
import { copyFileSync, cpSync, createWriteStream, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  e2eDir,
  freePort,
  freshDir,
  installVsix,
  installedExtensionName,
  isolatedEnv,
  launchChromium,
  log,
  root,
  startCodeServer,
  vsixPath,
  waitForHealthz,
  workbenchUrl,
  writeUserSettings,
} from './common.mjs';
import { installAll } from './install.mjs';
import { packageExtension } from '../package.mjs';

const { values: opts } = parseArgs({
  options: {
    'no-build': { type: 'boolean', default: false },
    extension: { type: 'string' },
    out: { type: 'string' },
  },
});
const outDir = resolve(opts.out ?? join(root, 'docs', 'images'));

/**
 * Clean modules the scan walks through besides the examples, so that its progress stays on
 * screen long enough to be seen (the examples alone take milliseconds).
 */
function writeBulkFiles(dir, count) {
  for (let i = 0; i < count; i++) {
    const pkg = join(dir, `pkg${String(i % 25).padStart(2, '0')}`);
    mkdirSync(pkg, { recursive: true });
    const n = String(i).padStart(4, '0');
    switch (i % 3) {
      case 0:
        writeFileSync(join(pkg, `loader_${n}.py`), `def load_${n}(path):\n    with open(path, "rb") as fh:\n        return fh.read()\n`);
        break;
      case 1:
        writeFileSync(
          join(pkg, `size_${n}.c`),
          `#include <stdio.h>\n\nlong size_${n}(const char *path)\n{\n    FILE *fp = fopen(path, "rb");\n    if (fp == NULL)\n        return -1;\n    fseek(fp, 0, SEEK_END);\n    long n = ftell(fp);\n    fclose(fp);\n    return n;\n}\n`,
        );
        break;
      default:
        writeFileSync(join(pkg, `load-${n}.ts`), `import { readFile } from 'node:fs/promises';\n\nexport function load${n}(path: string): Promise<Buffer> {\n  return readFile(path);\n}\n`);
    }
  }
}

/**
 * Shots are taken into a staging folder and copied to the output folder only when every step
 * passed, so a failing run never leaves a half-updated set of README images behind.
 */
let stagingDir;

async function shot(page, name, what) {
  const file = join(stagingDir, name);
  await page.screenshot({ path: file });
  log(`took ${name} (${what})`);
}

/**
 * Runs a command through the command palette, as a user would. The extension's commands are
 * listed only once the extension host has read the extension, so a missing row is retried.
 */
async function runCommand(page, title, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  const input = page.locator('.quick-input-widget input');
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
  for (;;) {
    await page.keyboard.press('F1');
    await input.waitFor({ state: 'visible', timeout: 15_000 });
    await input.fill(`>${title}`);
    try {
      await row.waitFor({ state: 'visible', timeout: 3_000 });
      await page.keyboard.press('Enter');
      return;
    } catch (err) {
      await page.keyboard.press('Escape');
      if (Date.now() > deadline) throw new Error(`the command palette never listed "${title}": ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/** Opens a file with Quick Open (Ctrl+P). */
async function openFile(page, relative) {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 15_000 });
  await input.fill(relative);
  await page.locator('.quick-input-list .monaco-list-row').first().waitFor({ state: 'visible', timeout: 15_000 });
  await page.keyboard.press('Enter');
  await page.locator(`.tab[aria-label^="${relative.split('/').pop()}"]`).first().waitFor({ timeout: 15_000 });
}

async function main() {
  installAll();
  const base = freshDir(join(e2eDir, 'runs', 'screenshots'), { empty: true });
  const env = isolatedEnv(base);
  writeUserSettings(base, {
    'workbench.colorTheme': 'Default Dark Modern',
    'editor.fontSize': 14,
    'window.zoomLevel': 0,
    'workbench.statusBar.visible': true,
    'editor.minimap.enabled': false,
    'breadcrumbs.enabled': false,
    'editor.hover.delay': 100,
    'chat.commandCenter.enabled': false,
    'workbench.layoutControl.enabled': false,
  });
  const extensionsDir = freshDir(join(base, 'extensions'));
  let payload;
  if (opts.extension) {
    payload = (port) => [['extensionDevelopmentPath', `vscode-remote://127.0.0.1:${port}${resolve(opts.extension)}`]];
  } else {
    if (!opts['no-build'] || !existsSync(vsixPath)) packageExtension({ quiet: true });
    // A plain user install into the extensions folder code-server runs with.
    log(`installing ${vsixPath} into a clean extensions folder`);
    installVsix(base, extensionsDir, vsixPath, env);
  }

  const workspace = join(base, 'examples');
  cpSync(join(root, 'examples'), workspace, { recursive: true });
  writeBulkFiles(join(workspace, 'vendor'), 1500);

  const port = await freePort();
  const serverLog = join(base, 'code-server.log');
  const server = startCodeServer({ base, extensionsDir, port, env, logStream: createWriteStream(serverLog) });
  let browser;
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      log(`${signal}: stopping`);
      void Promise.resolve(browser?.close())
        .catch(() => undefined)
        .then(() => server.stop())
        .then(() => process.exit(130));
    });
  }
  let page;
  try {
    await waitForHealthz(server);
    browser = await launchChromium(base);
    page = browser.pages()[0] ?? (await browser.newPage());
    page.setDefaultTimeout(30_000);
    stagingDir = freshDir(join(base, 'shots'), { empty: true });

    log('opening the workbench');
    await page.goto(workbenchUrl(server.url, workspace, payload?.(port)));
    await page.locator('.monaco-workbench .part.editor').waitFor({ timeout: 60_000 });
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'python' }).first().waitFor({ timeout: 60_000 });

    // 1. Scan Workspace with the (empty) Problems panel open: progress in the status bar, then
    //    the findings of files nobody opened.
    await page.keyboard.press('Control+Shift+M');
    await page.locator('.markers-panel').first().waitFor({ state: 'visible' });
    log('running Hazard Lens: Scan Workspace');
    await runCommand(page, 'Hazard Lens: Scan Workspace');
    await page.locator('.statusbar-item', { hasText: /scanning.*[1-9]\d*\/\d+ files/i }).first().waitFor({ state: 'visible', timeout: 60_000 });
    // A few hundred files in makes a better picture; a fast machine may finish first.
    await page
      .locator('.statusbar-item', { hasText: /scanning.*[1-9]\d{2,}\/\d+ files/i })
      .first()
      .waitFor({ state: 'visible', timeout: 10_000 })
      .catch(() => log('the scan ran too fast to show a later count'));
    await shot(page, 'scan-progress.png', 'scan progress in the status bar');
    await page.locator('.notifications-toasts .notification-toast', { hasText: /scan finished/i }).first().waitFor({ timeout: 180_000 });

    // Any Hazard Lens finding row: which rule comes first depends on the order of the files
    // (the list is virtual, so only the rows on screen exist).
    const rows = page.locator('.markers-panel .monaco-list-row');
    await rows.filter({ hasText: /hazard-lens/ }).first().waitFor({ timeout: 30_000 });
    await shot(page, 'problems-panel.png', 'Problems panel filled by the scan, no file open');
    // The list is virtual (only visible rows exist): collapse it to one row per file to check.
    await page.locator('.panel .action-label.codicon-collapse-all, .panel .action-label.codicon-tree-collapse-all').first().click();
    const files = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
    log(`Problems panel:\n    ${files.join('\n    ')}`);
    for (const file of ['static_files.py', 'config_reader.c', 'download.ts']) {
      if (!files.some((l) => l.includes(file))) throw new Error(`the Problems panel shows nothing for ${file} after the scan`);
    }
    if (files.some((l) => l.includes('vendor'))) throw new Error('the clean vendor files should have no findings');

    // 2. An example in the editor: the squiggle and its hover.
    log('opening python/static_files.py');
    await page.keyboard.press('Control+J'); // hide the panel
    await runCommand(page, 'Notifications: Clear All Notifications');
    await openFile(page, 'python/static_files.py');
    const squiggle = page.locator('.monaco-editor .squiggly-warning').first();
    await squiggle.waitFor({ state: 'attached', timeout: 60_000 });
    // Wait for the hover to list the quick fix as well (code actions arrive after the message).
    // A hover asked for while the editor still lays out the file may never open: the mouse
    // leaves and comes back (at the squiggle's position then) up to four times.
    const hover = page.locator('.monaco-hover', { hasText: /unreleased-file[\s\S]*Quick Fix/ }).first();
    let box;
    for (let attempt = 1; ; attempt++) {
      box = await squiggle.boundingBox();
      if (!box) throw new Error('the squiggle has no position on screen');
      await page.mouse.move(box.x + box.width / 2, box.y + 200);
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      try {
        await hover.waitFor({ state: 'visible', timeout: 8_000 });
        break;
      } catch (err) {
        if (attempt === 4) throw err;
        log(`no hover yet (attempt ${attempt}); moving the mouse away and back`);
      }
    }
    await shot(page, 'inline-warning.png', 'squiggle with its hover');

    // 3. The quick-fix menu on the squiggle.
    await page.mouse.move(box.x + box.width / 2, box.y + 200); // away, so the hover closes
    await page.keyboard.press('Escape');
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.keyboard.press('Control+.');
    const menu = page.locator('.action-widget', { hasText: /Disable unreleased-file for this line/ }).first();
    await menu.waitFor({ state: 'visible', timeout: 15_000 });
    await shot(page, 'quick-fix.png', 'quick-fix menu');
    await page.keyboard.press('Escape');
    mkdirSync(outDir, { recursive: true });
    for (const name of readdirSync(stagingDir)) {
      copyFileSync(join(stagingDir, name), join(outDir, name));
      log(`saved ${join(outDir, name)}`);
    }
  } catch (err) {
    const failure = join(base, 'failure.png');
    await page?.screenshot({ path: failure }).catch(() => undefined);
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n(screen at the failure: ${failure}; code-server log: ${serverLog})`);
  } finally {
    await browser?.close().catch(() => undefined);
    await server.stop();
  }
}

try {
  await main();
  log(`screenshots in ${outDir}`);
} catch (err) {
  console.error(`screenshots failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exit(1);
}

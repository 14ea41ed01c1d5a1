/**
 * The gate of value tracing (`facts/python/computed-module-holders.ts`): which names may hold a
 * module imported by a readable computed name, through each way the tracing follows a value,
 * and none when the import's name cannot be read or nothing carries the module.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { computedModuleHolders } from '../../server/src/facts/python/computed-module-holders';
import { parseSync } from '../../server/src/parsing/parser';
import { grammarsReady } from '../harness';

before(async () => {
  await grammarsReady();
});

function holders(lines: string[]): string[] {
  const text = lines.join('\n') + '\n';
  const tree = parseSync(text, 'python');
  try {
    return [...computedModuleHolders(tree.rootNode, text)].sort();
  } finally {
    tree.delete();
  }
}

describe('names that may hold a module imported by computed name', () => {
  test('assignments, loops, list additions, returns, parameters and pool workers carry it', () => {
    assert.deepEqual(
      holders([
        'import importlib',
        'from concurrent.futures import ThreadPoolExecutor',
        '',
        'def load(name):',
        '    mod = importlib.import_module(f"app.checks.{name}")',
        '    return mod',
        '',
        'def probe(check, host):',
        '    return check.run(host)',
        '',
        'class Runner:',
        '    def visit(self, target):',
        '        return target.scan()',
        '',
        'def main(names, pool: ThreadPoolExecutor):',
        '    found = []',
        '    for n in names:',
        '        found.append(load(n))',
        '    for m in list(found):',
        '        Runner().visit(m)',
        '    pool.map(probe, found)',
        '    label = str(found)',
        '    return label',
      ]),
      // (`host` too: a function handed a holder counts all its parameters, a safe excess.)
      ['check', 'found', 'host', 'load', 'm', 'mod', 'target'],
    );
  });

  test('generator arguments, copies, star and keyword arguments, conditionals, tuples returned and non-ASCII names carry it', () => {
    assert.deepEqual(
      holders([
        'import importlib',
        '',
        'async def fetch(plugin):',
        '    return plugin',
        '',
        'def collect(names):',
        '    mods = (importlib.import_module("app." + n) for n in names)',
        '    ready = tuple(m for m in mods)',
        '    fetch(*ready)',
        '    configure(handler=ready[0] if ready else None)',
        '    return ready, len(names)',
        '',
        'def configure(handler=None):',
        '    pass',
        '',
        'def café(x):',
        '    pass',
        '',
        'def run():',
        '    return café(collect([]))',
      ]),
      // (`names` and `n` are not: the module comes out of the generator, nothing goes in.)
      ['collect', 'fetch', 'handler', 'm', 'mods', 'plugin', 'ready', 'x'],
    );
  });

  test('an import whose name cannot be read, or no import at all, gives no name', () => {
    assert.deepEqual(holders(['import importlib', 'def load(name):', '    mod = importlib.import_module(name)', '    return mod.setup()']), []);
    assert.deepEqual(holders(['def load(name):', '    mod = __import__(".rel")', '    return mod']), []);
    assert.deepEqual(holders(['x = "import_module(" + name', 'x.strip()']), []);
  });
});

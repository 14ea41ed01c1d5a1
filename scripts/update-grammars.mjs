// Refreshes the pinned tree-sitter grammars in grammars/ from the grammar packages on the
// npm registry (they ship the .wasm files), and records package, version and sha256 in
// grammars/provenance.json.
//
//   node scripts/update-grammars.mjs                 re-fetch the versions in provenance.json
//   node scripts/update-grammars.mjs tree-sitter-python@0.25.0 ...   move those packages
//   node scripts/update-grammars.mjs --check         verify the files against provenance.json
//
// NOTE: `npm pack` downloads the tarball without running the packages' install scripts
// (which would try to build native bindings we do not use).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = join(root, 'grammars');
const provenancePath = join(dir, 'provenance.json');
const provenance = JSON.parse(readFileSync(provenancePath, 'utf8'));
const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');

const args = process.argv.slice(2);
if (args.includes('--check')) {
  let bad = 0;
  for (const g of provenance.grammars) {
    const actual = sha256(join(dir, g.file));
    if (actual !== g.sha256) {
      console.error(`grammars/${g.file}: sha256 ${actual} does not match provenance ${g.sha256}`);
      bad++;
    }
  }
  console.log(bad ? `${bad} grammar(s) differ from provenance.json` : `${provenance.grammars.length} grammars match provenance.json`);
  process.exit(bad ? 1 : 0);
}

const wanted = new Map(provenance.grammars.map((g) => [g.package, g.version]));
for (const spec of args) {
  const at = spec.lastIndexOf('@');
  if (at <= 0) throw new Error(`expected package@version, got ${spec}`);
  wanted.set(spec.slice(0, at), spec.slice(at + 1));
}

const work = mkdtempSync(join(tmpdir(), 'hazard-lens-grammars-'));
try {
  const fetched = new Map();
  for (const [pkg, version] of wanted) {
    const out = execFileSync('npm', ['pack', `${pkg}@${version}`, '--pack-destination', work, '--json', '--silent'], { encoding: 'utf8' });
    const info = JSON.parse(out)[0];
    const unpack = join(work, pkg);
    execFileSync('mkdir', ['-p', unpack]);
    execFileSync('tar', ['-xzf', join(work, info.filename), '-C', unpack]);
    fetched.set(pkg, { version: info.version, integrity: info.integrity, dir: join(unpack, 'package') });
  }
  for (const g of provenance.grammars) {
    const src = fetched.get(g.package);
    copyFileSync(join(src.dir, g.file), join(dir, g.file));
    g.version = src.version;
    g.integrity = src.integrity;
    g.sha256 = sha256(join(dir, g.file));
  }
  writeFileSync(provenancePath, JSON.stringify(provenance, null, 2) + '\n');
  console.log(provenance.grammars.map((g) => `${g.file} <- ${g.package}@${g.version}`).join('\n'));
} finally {
  rmSync(work, { recursive: true, force: true });
}

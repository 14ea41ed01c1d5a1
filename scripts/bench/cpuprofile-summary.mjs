// Summarises a .cpuprofile: self time per source file and the top functions (for the perf notes).
// node scripts/bench/cpuprofile-summary.mjs FILE.cpuprofile [topN]
import { readFileSync } from 'node:fs';
const [file, topArg] = process.argv.slice(2);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const top = Number(topArg ?? 30);
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = prof.timeDeltas;
for (let i = 0; i < prof.samples.length; i++) self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (dt[i] ?? 0));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const byFile = new Map();
const byFn = new Map();
for (const [id, t] of self) {
  const n = byId.get(id);
  const url = n.callFrame.url.replace(/^file:\/\//, '').replace(/.*\/(server\/src|node_modules)\//, '$1/');
  const f = url || `(${n.callFrame.functionName || 'native'})`;
  byFile.set(f, (byFile.get(f) ?? 0) + t);
  const k = `${n.callFrame.functionName || '(anon)'} ${f}:${n.callFrame.lineNumber + 1}`;
  byFn.set(k, (byFn.get(k) ?? 0) + t);
}
const pct = (t) => ((100 * t) / total).toFixed(1).padStart(5) + '%';
console.log(`total ${(total / 1e6).toFixed(2)} s sampled`);
console.log('--- self time by file');
for (const [k, t] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(t), k);
console.log('--- self time by function');
for (const [k, t] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(t), k);
// Inclusive time per function name (each sample counted once per distinct name on its stack).
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const incl = new Map();
for (const [id, t] of self) {
  const names = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const n = byId.get(cur);
    const url = n.callFrame.url.replace(/.*\/(server\/src|node_modules)\//, '');
    if (n.callFrame.functionName) names.add(`${n.callFrame.functionName} ${url.split('/').pop()}`);
  }
  for (const k of names) incl.set(k, (incl.get(k) ?? 0) + t);
}
console.log('--- inclusive time by function');
for (const [k, t] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, top * 2)) console.log(pct(t), k);

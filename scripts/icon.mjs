#!/usr/bin/env node
// Draws the extension's icon (images/icon.png, 256x256): a shield with a lens over it, in
// plain code so the artwork is our own. Run: node scripts/icon.mjs (the PNG is committed).
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const SIZE = 256;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pixels = Buffer.alloc(SIZE * SIZE * 4);

/** Coverage of a pixel by a shape, by 4x4 supersampling (smooth edges). */
function paint(inside, [r, g, b]) {
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      let hits = 0;
      for (let sy = 0; sy < 4; sy++) for (let sx = 0; sx < 4; sx++) if (inside((x + (sx + 0.5) / 4) / SIZE, (y + (sy + 0.5) / 4) / SIZE)) hits++;
      if (hits === 0) continue;
      const a = hits / 16;
      const i = (y * SIZE + x) * 4;
      const old = pixels[i + 3] / 255;
      const out = a + old * (1 - a);
      pixels[i] = Math.round((r * a + pixels[i] * old * (1 - a)) / out);
      pixels[i + 1] = Math.round((g * a + pixels[i + 1] * old * (1 - a)) / out);
      pixels[i + 2] = Math.round((b * a + pixels[i + 2] * old * (1 - a)) / out);
      pixels[i + 3] = Math.round(out * 255);
    }
  }
}

/** A shield: straight top, sides curving to a point at the bottom (coordinates 0..1). */
function shield(margin) {
  return (x, y) => {
    const top = 0.08 + margin;
    const bottom = 0.94 - margin;
    if (y < top || y > bottom) return false;
    const t = (y - top) / (bottom - top);
    const half = (0.4 - margin) * (t < 0.45 ? 1 : Math.cos(((t - 0.45) / 0.55) * (Math.PI / 2)));
    return Math.abs(x - 0.5) <= half;
  };
}
const ring = (cx, cy, outer, inner) => (x, y) => {
  const d = Math.hypot(x - cx, y - cy);
  return d <= outer && d >= inner;
};
const disc = (cx, cy, r) => (x, y) => Math.hypot(x - cx, y - cy) <= r;
/** A thick line segment from (x1,y1) to (x2,y2). */
const bar = (x1, y1, x2, y2, w) => (x, y) => {
  const dx = x2 - x1;
  const dy = y2 - y1;
  const t = Math.max(0, Math.min(1, ((x - x1) * dx + (y - y1) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(x - (x1 + t * dx), y - (y1 + t * dy)) <= w / 2;
};

paint(shield(0), [30, 41, 59]); // slate outline
paint(shield(0.035), [234, 179, 8]); // amber body: a hazard
paint(disc(0.45, 0.42, 0.17), [255, 255, 255]); // the lens glass
paint(ring(0.45, 0.42, 0.2, 0.16), [30, 41, 59]); // the lens rim
paint(bar(0.59, 0.57, 0.72, 0.72, 0.07), [30, 41, 59]); // the handle
paint(bar(0.45, 0.33, 0.45, 0.44, 0.045), [220, 38, 38]); // "!" in the lens
paint(disc(0.45, 0.5, 0.025), [220, 38, 38]);

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}
function crc32(buf) {
  let c = ~0;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c;
}
const header = Buffer.alloc(13);
header.writeUInt32BE(SIZE, 0);
header.writeUInt32BE(SIZE, 4);
header[8] = 8; // bit depth
header[9] = 6; // RGBA
const rows = Buffer.alloc(SIZE * (SIZE * 4 + 1));
for (let y = 0; y < SIZE; y++) pixels.copy(rows, y * (SIZE * 4 + 1) + 1, y * SIZE * 4, (y + 1) * SIZE * 4);
const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(rows, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
const out = join(root, 'images', 'icon.png');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, png);
console.log(`wrote ${out} (${png.length} bytes)`);

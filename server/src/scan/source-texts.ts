/**
 * The text of source files for what a report derives from it after the scan (finding
 * fingerprints for baselines and SARIF): read once each, decoded as the scan decoded them.
 */
import * as fs from 'node:fs';
import type { TextOf } from '../engine/baseline';
import { decodeSource } from './read';

/** A reader that keeps each file's text; undefined for a file that cannot be read. */
export function sourceTexts(overrides?: ReadonlyMap<string, string>): TextOf {
  const texts = new Map<string, string | undefined>();
  return (file) => {
    const given = overrides?.get(file);
    if (given !== undefined) return given;
    if (!texts.has(file)) {
      let text: string | undefined;
      try {
        const decoded = decodeSource(fs.readFileSync(file));
        text = decoded.ok ? decoded.text : undefined;
      } catch {
        text = undefined;
      }
      texts.set(file, text);
    }
    return texts.get(file);
  };
}

/**
 * Platform conditions of the C preprocessor: which branch of an `#if`/`#ifdef`/`#elif`/
 * `#else` chain each platform compiles, in three-valued logic ('T' compiled, 'F' not,
 * '?' unknown) over the platform macros of `knowledge/c-platforms.ts`. `#if 0` and debug-build
 * macros (`#ifdef MYAPP_DEBUG`) are dead on every platform. Anything else (`HAVE_X`, `X > 2`) is unknown.
 */
import type { Node } from '../../parsing/parser';
import { ALL_PLATFORM_MACROS, C_PLATFORMS, isDebugBuildMacro, PLATFORM_MACRO_SETS, type CPlatform } from '../../knowledge/c-platforms';

export type Tri = 'T' | 'F' | '?';

/** A truth value per platform. */
export type PlatformTruth = Readonly<Record<CPlatform, Tri>>;

/** Builds a truth from one value per platform, in {@link C_PLATFORMS} order (a plain loop: `Object.fromEntries` costs more on this hot path). */
function truthFrom(valueOf: (p: CPlatform) => Tri): PlatformTruth {
  const out = {} as Record<CPlatform, Tri>;
  for (const p of C_PLATFORMS) out[p] = valueOf(p);
  return out;
}

const ALL_TRUE: PlatformTruth = uniform('T');
const ALL_UNKNOWN: PlatformTruth = uniform('?');
const ALL_FALSE: PlatformTruth = uniform('F');

function uniform(v: Tri): PlatformTruth {
  return truthFrom(() => v);
}

/** True on these platforms, false on every other (a file only they build). */
export function onlyOn(platforms: readonly CPlatform[]): PlatformTruth {
  return truthFrom((p) => (platforms.includes(p) ? 'T' : 'F'));
}

export function and(a: PlatformTruth, b: PlatformTruth): PlatformTruth {
  // True everywhere is the identity of `and` (most chains nest in no platform condition at all).
  if (a === ALL_TRUE) return b;
  if (b === ALL_TRUE) return a;
  return truthFrom((p) => {
    const x = a[p];
    const y = b[p];
    return x === 'F' || y === 'F' ? 'F' : x === 'T' && y === 'T' ? 'T' : '?';
  });
}

export function or(a: PlatformTruth, b: PlatformTruth): PlatformTruth {
  return truthFrom((p) => {
    const x = a[p];
    const y = b[p];
    return x === 'T' || y === 'T' ? 'T' : x === 'F' && y === 'F' ? 'F' : '?';
  });
}

export function not(a: PlatformTruth): PlatformTruth {
  if (a === ALL_UNKNOWN) return ALL_UNKNOWN;
  if (a === ALL_TRUE) return ALL_FALSE;
  if (a === ALL_FALSE) return ALL_TRUE;
  return truthFrom((p) => (a[p] === 'T' ? 'F' : a[p] === 'F' ? 'T' : '?'));
}

/** Truths of the platform macros met so far, by name (a few dozen names at most). */
const platformMacroTruths = new Map<string, PlatformTruth>();

function macro(name: string): PlatformTruth {
  if (isDebugBuildMacro(name)) return ALL_FALSE;
  if (!ALL_PLATFORM_MACROS.has(name)) return ALL_UNKNOWN;
  let truth = platformMacroTruths.get(name);
  if (!truth) platformMacroTruths.set(name, (truth = truthFrom((p) => (PLATFORM_MACRO_SETS[p].has(name) ? 'T' : 'F'))));
  return truth;
}

/** The value of a `#if`/`#elif` condition expression per platform. */
function evalExpression(node: Node | null, depth = 0): PlatformTruth {
  if (!node || depth > 32) return ALL_UNKNOWN;
  switch (node.type) {
    case 'parenthesized_expression': {
      const inner = node.namedChildren.find((c) => c && c.type !== 'comment') ?? null;
      return evalExpression(inner, depth + 1);
    }
    case 'preproc_defined': {
      const id = node.namedChildren.find((c) => c?.type === 'identifier');
      return id ? macro(id.text) : ALL_UNKNOWN;
    }
    case 'identifier':
      // `#if __APPLE__`: a platform macro is 1 where defined and 0 elsewhere.
      return macro(node.text);
    case 'number_literal': {
      const v = Number(node.text.replace(/[uUlL]+$/, ''));
      return Number.isFinite(v) ? (v === 0 ? ALL_FALSE : ALL_TRUE) : ALL_UNKNOWN;
    }
    case 'unary_expression': {
      if (node.childForFieldName('operator')?.type !== '!') return ALL_UNKNOWN;
      return not(evalExpression(node.childForFieldName('argument'), depth + 1));
    }
    case 'binary_expression': {
      const op = node.childForFieldName('operator')?.type;
      if (op !== '&&' && op !== '||') return ALL_UNKNOWN;
      const l = evalExpression(node.childForFieldName('left'), depth + 1);
      const r = evalExpression(node.childForFieldName('right'), depth + 1);
      return op === '&&' ? and(l, r) : or(l, r);
    }
    default:
      return ALL_UNKNOWN;
  }
}

/**
 * The condition of one branch node of a chain, on its own: `#ifdef X`/`#ifndef X`, `#if e`,
 * `#elif e`, `#elifdef X`/`#elifndef X`, and `#else` (always true on its own).
 */
export function branchCondition(node: Node): PlatformTruth {
  switch (node.type) {
    case 'preproc_ifdef':
    case 'preproc_elifdef': {
      const name = node.childForFieldName('name');
      const v = name ? macro(name.text) : ALL_UNKNOWN;
      const negated = /^#\s*(ifndef|elifndef)/.test(node.text);
      return negated ? not(v) : v;
    }
    case 'preproc_if':
    case 'preproc_elif':
      return evalExpression(node.childForFieldName('condition'));
    default:
      return ALL_TRUE;
  }
}

/** Platforms (in {@link C_PLATFORMS} order) where a truth is the given value. */
export function platformsWhere(t: PlatformTruth, v: Tri): CPlatform[] {
  return C_PLATFORMS.filter((p) => t[p] === v);
}

export { ALL_TRUE };

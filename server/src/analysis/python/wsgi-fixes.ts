/**
 * The fixes the WSGI analysis offers, built from the text of the file: a guard against wrapping
 * a response twice, moving a generator's close into `finally`, closing an inner response in
 * `finally` or before the return that replaces it, and a forwarding close() for a wrapper
 * class. Each returns null when the code around it is not laid out for a plain edit.
 */
import type { Fix } from '../../text/edits';
import { nodeRange, type Node } from '../../parsing/parser';
import { children, enclosingFunction, lastComponent, parameterNames, statementIn, unparen } from './wsgi-syntax';
import type { WsgiIndex } from './wsgi-index';

/** The fix builders of one file: they read its lines, and the own-scope nodes, from the index. */
export class WsgiFixes {
  constructor(private readonly file: WsgiIndex) {}

  /**
   * Display-only: remember the wrapped response in the (shared) environ and return a value that
   * is already it. Offered when the wrap is the value of a `return` statement alone on its line.
   */
  guardFix(call: Node, arg: Node): Fix | null {
    const stmt = call.parent;
    if (!stmt || stmt.type !== 'return_statement' || unparen(arg).type !== 'identifier') return null;
    const callee = unparen(call.childForFieldName('function')!);
    let env: string | null = null;
    if (callee.type === 'subscript') env = callee.childForFieldName('value')?.text ?? null;
    else if (callee.type === 'call' && callee.childForFieldName('function')?.type === 'attribute') {
      env = callee.childForFieldName('function')!.childForFieldName('object')?.text ?? null;
    }
    if (!env) return null;
    const row = stmt.startPosition.row;
    const indent = /^[ \t]*/.exec(this.file.lines[row])![0];
    if (indent.length !== stmt.startPosition.column || stmt.endPosition.row !== row) return null;
    const value = unparen(arg).text;
    const key = '"app.file_wrapped"';
    const newText = [
      `${indent}if ${value} is ${env}.get(${key}):`,
      `${indent}    return ${value}  # already wrapped for this request`,
      `${indent}${env}[${key}] = ${call.text}`,
      `${indent}return ${env}[${key}]`,
    ].join('\n');
    return {
      title: `Guard against wrapping '${value}' twice (remember the wrapped response in ${env})`,
      applicability: 'display-only',
      edits: [{ range: { start: { line: row, character: 0 }, end: nodeRange(stmt).end }, newText }],
    };
  }

  private indentUnit(block: Node): string | null {
    const header = block.parent;
    if (!header) return null;
    const base = /^[ \t]*/.exec(this.file.lines[block.startPosition.row])![0];
    const headerIndent = /^[ \t]*/.exec(this.file.lines[header.startPosition.row])![0];
    if (!base.startsWith(headerIndent) || base.length <= headerIndent.length) return null;
    const unit = base.slice(headerIndent.length);
    return /^( +|\t+)$/.test(unit) ? unit : null;
  }

  /** Rows `from..to` can be indented without changing a string's content. */
  private indentable(block: Node, fromRow: number, toRow: number): boolean {
    for (const s of block.descendantsOfType('string')) {
      if (!s || s.startPosition.row === s.endPosition.row) continue;
      if (s.endPosition.row > fromRow && s.startPosition.row < toRow + 1) return false;
    }
    return true;
  }

  private indentRows(fromRow: number, toRow: number, unit: string): string[] {
    const out: string[] = [];
    for (let r = fromRow; r <= toRow; r++) {
      const line = this.file.lines[r].replace(/\r$/, '');
      out.push(line.trim() === '' ? '' : unit + line);
    }
    return out;
  }

  /**
   * Safe: move the existing close into a `finally` around the statements from the binding (or
   * the start of the block) up to it. The close runs as before on full iteration, and also when
   * the generator is closed early or fails. With `consumed` (a plain function that consumes
   * the value, then closes it), the region is the one holding that consumption instead of a
   * yield, and the close also runs when the consumption raises.
   */
  finallyFix(fn: Node, close: Node, name: string, binding: Node | 'param', consumed?: Node): Fix | null {
    // The block where the close follows the statement that yields (the loop), or that consumes.
    const precedes = (c: Node) =>
      consumed ? c.startIndex <= consumed.startIndex && c.endIndex >= consumed.endIndex : c.descendantsOfType('yield').some((y) => y && enclosingFunction(y)?.id === fn.id);
    let block: Node | null = null;
    let closeStmt: Node | null = null;
    for (let b = close.parent; b && b.id !== fn.id; b = b.parent) {
      if (b.type !== 'block') continue;
      const st = statementIn(b, close);
      if (st && children(b).some((c) => c.startIndex < st.startIndex && precedes(c))) {
        block = b;
        closeStmt = st;
        break;
      }
    }
    if (!block || !closeStmt || !this.onlyCloses(closeStmt, close, name)) return null;
    const stmts = children(block).filter((c) => c.type !== 'comment');
    const ci = stmts.findIndex((s) => s.id === closeStmt.id);
    if (ci <= 0) return null;
    let start = 0;
    if (binding !== 'param') {
      const bstmt = statementIn(block, binding);
      if (bstmt) start = stmts.findIndex((s) => s.id === bstmt.id) + 1;
      else if (!(block.parent?.id === fn.id)) return null;
    }
    if (block.parent?.id === fn.id && start === 0 && stmts[0]?.type === 'expression_statement' && stmts[0].namedChild(0)?.type === 'string') start = 1;
    if (start >= ci) return null;
    const first = stmts[start];
    const prev = stmts[ci - 1];
    if (prev.endPosition.row >= closeStmt.startPosition.row) return null;
    const indent = /^[ \t]*/.exec(this.file.lines[first.startPosition.row])![0];
    if (indent.length !== first.startPosition.column || indent.length !== closeStmt.startPosition.column) return null;
    const unit = this.indentUnit(block);
    if (!unit || !this.indentable(block, first.startPosition.row, closeStmt.endPosition.row)) return null;
    const bodyRows = this.indentRows(first.startPosition.row, prev.endPosition.row, unit);
    // Comments between the loop and the close belong to the close: they move into the finally.
    const between = this.indentRows(prev.endPosition.row + 1, closeStmt.startPosition.row - 1, unit).filter((r) => r !== '');
    const closeRows = [...between, ...this.indentRows(closeStmt.startPosition.row, closeStmt.endPosition.row, unit)];
    const newText = [`${indent}try:`, ...bodyRows, `${indent}finally:`, ...closeRows].join('\n');
    return {
      title: consumed
        ? `Close '${name}' in a finally block, so it is also closed when consuming it raises`
        : `Close '${name}' in a finally block, so it is also closed when the generator is closed early`,
      applicability: 'safe',
      edits: [{ range: { start: { line: first.startPosition.row, character: 0 }, end: nodeRange(closeStmt).end }, newText }],
    };
  }

  /** `x.close()`, or `if hasattr(x, "close"): x.close()` / `if x is not None: x.close()` without else. */
  private onlyCloses(stmt: Node, close: Node, name: string): boolean {
    if (stmt.type === 'expression_statement') return stmt.text === close.text;
    if (stmt.type !== 'if_statement' || children(stmt).some((c) => c.type === 'elif_clause' || c.type === 'else_clause')) return false;
    const cond = stmt.childForFieldName('condition');
    const body = stmt.childForFieldName('consequence');
    if (!cond || !body || !new RegExp(`\\b${name}\\b`).test(cond.text)) return false;
    const inner = children(body).filter((c) => c.type !== 'comment');
    return inner.length === 1 && inner[0].text === close.text;
  }

  /** Unsafe: call the response's close() in a finally around what follows its binding. */
  closeInFinallyFix(call: Node, fn: Node): Fix | null {
    const assign = call.parent;
    if (assign?.type !== 'assignment') return null;
    const left = assign.childForFieldName('left');
    const stmt = assign.parent;
    if (left?.type !== 'identifier' || stmt?.type !== 'expression_statement') return null;
    const block = stmt.parent;
    if (block?.type !== 'block' || block.parent?.id !== fn.id) return null;
    const stmts = children(block).filter((c) => c.type !== 'comment');
    const i = stmts.findIndex((s) => s.id === stmt.id);
    if (i < 0 || i === stmts.length - 1) return null;
    const first = stmts[i + 1];
    const last = stmts[stmts.length - 1];
    if (first.startPosition.row <= stmt.endPosition.row) return null;
    const indent = /^[ \t]*/.exec(this.file.lines[first.startPosition.row])![0];
    const unit = this.indentUnit(block);
    if (!unit || indent.length !== first.startPosition.column) return null;
    if (!this.indentable(block, first.startPosition.row, last.endPosition.row)) return null;
    const name = left.text;
    const rows = this.indentRows(first.startPosition.row, last.endPosition.row, unit);
    const newText = [
      `${indent}try:`,
      ...rows,
      `${indent}finally:`,
      `${indent}${unit}if hasattr(${name}, "close"):`,
      `${indent}${unit}${unit}${name}.close()`,
    ].join('\n');
    return {
      title: `Call ${name}.close() in a finally block (PEP 3333)`,
      applicability: 'unsafe',
      edits: [{ range: { start: { line: first.startPosition.row, character: 0 }, end: nodeRange(last).end }, newText }],
    };
  }

  /** Unsafe: close the inner response before the return that replaces it. */
  closeBeforeFix(call: Node, ret: Node): Fix | null {
    const assign = call.parent;
    const left = assign?.type === 'assignment' ? assign.childForFieldName('left') : null;
    if (left?.type !== 'identifier' || ret.type !== 'return_statement') return null;
    const row = ret.startPosition.row;
    const indent = /^[ \t]*/.exec(this.file.lines[row])![0];
    if (indent.length !== ret.startPosition.column) return null;
    const block = ret.parent;
    const unit = block?.type === 'block' ? this.indentUnit(block) : null;
    if (!unit) return null;
    const name = left.text;
    return {
      title: `Call ${name}.close() before returning another response`,
      applicability: 'unsafe',
      edits: [{ range: { start: { line: row, character: 0 }, end: { line: row, character: 0 } }, newText: `${indent}if hasattr(${name}, "close"):\n${indent}${unit}${name}.close()\n` }],
    };
  }

  /** Unsafe: give a wrapper class a close() that forwards to the wrapped response. */
  forwardCloseFix(cls: Node, argIndex: number): Fix | null {
    const body = cls.childForFieldName('body');
    if (!body || argIndex < 0) return null;
    const init = children(body)
      .map((s) => (s.type === 'decorated_definition' ? s.childForFieldName('definition') : s))
      .find((d) => d?.type === 'function_definition' && d.childForFieldName('name')?.text === '__init__');
    if (!init) return null;
    const pname = parameterNames(init)[argIndex + 1];
    if (!pname) return null;
    let attr: string | null = null;
    for (const n of this.file.own(init).assignments) {
      const left = n.childForFieldName('left');
      const right = n.childForFieldName('right');
      if (left?.type === 'attribute' && left.childForFieldName('object')?.text === 'self' && right?.type === 'identifier' && right.text === pname) {
        attr = lastComponent(left);
        if (attr) break;
      }
    }
    if (!attr) return null;
    const unit = this.indentUnit(body);
    const indent = /^[ \t]*/.exec(this.file.lines[body.startPosition.row])![0];
    if (!unit) return null;
    const end = nodeRange(body).end;
    const newText = `\n\n${indent}def close(self):\n${indent}${unit}if hasattr(self.${attr}, "close"):\n${indent}${unit}${unit}self.${attr}.close()`;
    return {
      title: `Add close() to ${cls.childForFieldName('name')?.text ?? 'the wrapper'}, forwarding to the wrapped response`,
      applicability: 'unsafe',
      edits: [{ range: { start: end, end }, newText }],
    };
  }
}

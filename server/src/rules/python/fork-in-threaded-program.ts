/**
 * Python side of `fork-in-threaded-program`: a fork (os.fork/forkpty, pty.fork, a
 * daemonizer, or multiprocessing with the `fork` start method) that program order reaches
 * after a thread start. The program model (`model/python.ts`) replays program order and
 * hands over each such pair; this checker words the finding and builds the fixes.
 */
import type { ProgramContext } from '../../model/program-context';
import type { RawFinding } from '../rule';
import type { Fix, TextEdit } from '../../text/edits';
import { pythonModel, type PyForkAfterThreads, type PyForkEvent } from '../../model/python';
import { ensureImport, joinedChain, where } from '../../model/python-evidence';

const RULE_ID = 'fork-in-threaded-program';

function forkWords(fork: PyForkEvent): string {
  const f = fork.fact;
  if (f.via === 'multiprocessing') {
    const source =
      fork.methodSource === 'default'
        ? `start method "fork", the Linux default before Python 3.14`
        : fork.methodSource === 'set_start_method'
          ? `start method "fork", set with set_start_method() at ${where(fork.setter!, fork.module.path)}`
          : `explicit "fork" context`;
    return `${f.api} forks (${source})`;
  }
  if (f.via === 'daemonizer') return `${f.api} forks to detach`;
  if (f.daemonize) return `${f.api} forks to detach (double-fork daemon recipe)`;
  return f.api;
}

function message(h: PyForkAfterThreads): string {
  return (
    `${forkWords(h.fork)} in a program that has already started a thread (${h.thread.api} at ${where(h.thread, h.fork.module.path)}): ` +
    `the child inherits locks other threads held and can deadlock`
  );
}

function fixes(h: PyForkAfterThreads): Fix[] {
  const fork = h.fork;
  const f = fork.fact;
  const out: Fix[] = [];
  if (f.via === 'multiprocessing' && f.fix) {
    const fx = f.fix;
    let edits: TextEdit[] = [];
    let title = '';
    if (fx.kind === 'literal') {
      edits = [{ range: fx.range, newText: 'forkserver' }];
      title = 'Use the "forkserver" start method instead of "fork"';
    } else {
      const mp = ensureImport(fork.module, 'multiprocessing');
      const ctx = `${mp.name}.get_context("forkserver")`;
      if (fx.kind === 'callee') {
        edits = [...mp.edits, { range: fx.range, newText: `${ctx}.${fx.attribute}` }];
        title = `Create it from ${ctx}`;
      } else {
        edits = [...mp.edits, { range: { start: fx.insertAt, end: fx.insertAt }, newText: `${fx.needsComma ? ', ' : ''}${fx.keyword}=${ctx}` }];
        title = `Pass ${fx.keyword}=${ctx}`;
      }
    }
    out.push({ title, applicability: 'unsafe', edits });
  }
  if (f.via === 'os' && f.child === 'exec') {
    out.push({
      title: 'Start the program with subprocess.Popen (or os.posix_spawn) instead of os.fork() followed by exec',
      applicability: 'display-only',
      edits: [],
    });
  }
  return out;
}

export function checkPythonForkInThreadedProgram(ctx: ProgramContext): RawFinding[] {
  if (!ctx.files.some((f) => f.language === 'python')) return [];
  const model = pythonModel(ctx);
  return model.forkAfterThreads.map((h) => ({
    ruleId: RULE_ID,
    path: h.fork.module.path,
    range: h.fork.fact.range,
    message: message(h),
    related: [
      ...(h.fork.setter ? [{ path: h.fork.setter.module.path, range: h.fork.setter.fact.range, message: 'start method set to "fork" here' }] : []),
      ...joinedChain(h.thread, `thread started here (${h.thread.api})`, h.fork, `fork here (${h.fork.fact.api})`),
    ],
    fixes: fixes(h),
  }));
}

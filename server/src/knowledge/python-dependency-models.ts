/**
 * Models of Python libraries that programs use from their environment (seldom from the
 * workspace), shipped in the very form a user writes in the `knowledge` section of
 * `.hazard-lens.json` (`user-models.ts`): `knowledge.ts` merges them into the built-in
 * tables before the user's own models. A library enters this table when a real program's
 * hazard goes through it (test/corpus/cases.tsv names the case).
 */
import type { UserKnowledge } from './user-models';

export const PY_DEPENDENCY_MODELS: NonNullable<UserKnowledge['python']> = {
  processStarters: [
    // sslyze 1.x and 2.x: ConcurrentScanner starts a WorkerProcess (a multiprocessing.Process)
    // when a scan command is queued and fewer workers run than its limit, with the program's
    // start method (corpus: domain-scan-sslyze-concurrent-scanner-in-thread-pool). sslyze 3
    // replaced it with a Scanner that runs threads.
    { name: 'sslyze.concurrent_scanner.ConcurrentScanner', how: 'method', methods: ['queue_scan_command'] },
  ],
};

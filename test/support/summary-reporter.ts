import type { Reporter } from 'vitest/reporters';

type Task = { type: string; mode?: string; result?: { state?: string }; tasks?: Task[] };

/** Ends the run with one plain line, `N passed, N failed[, N skipped]`, that any CI can read. */
export default class SummaryReporter implements Reporter {
  onFinished(files: readonly Task[] = []): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const visit = (task: Task) => {
      if (task.type === 'test') {
        if (task.mode === 'skip' || task.mode === 'todo' || task.result?.state === 'skip') skipped++;
        else if (task.result?.state === 'pass') passed++;
        else failed++;
      }
      task.tasks?.forEach(visit);
    };
    files.forEach(visit);
    process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  }
}

import { readFileSync } from 'node:fs';
import type { UserConsoleLog } from 'vitest';
import type { Reporter, TestCase, TestModule } from 'vitest/node';
import { testServerLogFiles } from './helpers/servers.js';
import { suiteSecrets } from './helpers/suite-secrets.js';

/**
 * Fails the run when a secret of the run (the runtime roles' password, which every connection
 * the tests open carries) shows in anything the run produced: a test's console output, a failed
 * test's error, or a PostgreSQL server log (the test run's own embedded server, and the system
 * server's under /var/log/postgresql where this process can read it). Ends with one line saying
 * what it looked through.
 */
export default class SecretsReporter implements Reporter {
  readonly #found: string[] = [];
  #logs = 0;
  #errors = 0;

  #look(place: string, text: string | undefined): void {
    if (!text) return;
    for (const secret of suiteSecrets()) {
      if (text.includes(secret) || text.includes(encodeURIComponent(secret))) this.#found.push(place);
    }
  }

  onUserConsoleLog(log: UserConsoleLog): void {
    this.#logs++;
    this.#look(`console output of a test (${log.type})`, log.content);
  }

  onTestCaseResult(testCase: TestCase): void {
    for (const error of testCase.result().errors ?? []) {
      this.#errors++;
      this.#look(`error of "${testCase.fullName}"`, `${error.message}\n${error.stack ?? ''}\n${error.diff ?? ''}`);
    }
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    for (const module of testModules) {
      for (const error of module.errors()) {
        this.#errors++;
        this.#look(`error of ${module.moduleId}`, `${error.message}\n${error.stack ?? ''}`);
      }
    }
    let read = 0;
    for (const file of testServerLogFiles()) {
      let text: string;
      try {
        text = readFileSync(file, 'latin1');
      } catch {
        continue; // not there, or not readable by this user
      }
      read++;
      this.#look(`server log ${file}`, text);
    }
    if (suiteSecrets().length === 0) return void console.log('secrets: no secret of this run registered; nothing to look for');
    if (this.#found.length > 0) {
      console.log(`secrets: the runtime roles' password of this run shows in ${this.#found.length} places:\n  ${[...new Set(this.#found)].join('\n  ')}`);
      process.exitCode = 1;
      return;
    }
    console.log(`secrets: the runtime roles' password of this run is in none of ${this.#logs} console outputs, ${this.#errors} test errors and ${read} server logs`);
  }
}

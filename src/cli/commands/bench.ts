import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { printJson } from '../options.js';
import { UsageError } from '../usage-error.js';

/** The checkout this CLI runs from (src/cli/commands or dist/cli/commands, three levels down). */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The benchmarks: the package's `bench:<name>` scripts, by name. */
export function benchScripts(root = ROOT): Record<string, string> {
  const file = join(root, 'package.json');
  if (!existsSync(file)) return {};
  const scripts = (JSON.parse(readFileSync(file, 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {};
  return Object.fromEntries(Object.entries(scripts).filter(([k]) => k.startsWith('bench:')).map(([k, v]) => [k.slice('bench:'.length), v]));
}

/**
 * `fivetier bench [name]`: without a name, list the benchmarks (bench/, the `bench:*` scripts);
 * with one, run it through npm with its output as it comes and exit with its exit code. They run
 * from a checkout (bench/ is not in the published package). Exits 2 for an unknown name.
 */
export function benchCommand(): Command {
  const names = Object.keys(benchScripts());
  return new Command('bench')
    .description('list the benchmarks, or run one (from a checkout: npm run bench:<name>)')
    .argument('[name]', `the benchmark to run${names.length ? ` (${names.join(', ')})` : ''}`)
    .argument('[args...]', 'passed on to the benchmark')
    .option('--json', 'list as JSON')
    .addHelpText('after', '\nBenchmarks measure timings on this machine; run them on a quiet one.')
    .action(async (name: string | undefined, args: string[], opts: { json?: boolean }) => {
      const scripts = benchScripts();
      if (name === undefined) {
        if (opts.json) return printJson(Object.entries(scripts).map(([n, script]) => ({ name: n, script })));
        if (Object.keys(scripts).length === 0) console.log('no benchmarks here: they run from a checkout of fivetier (bench/)');
        for (const [n, script] of Object.entries(scripts)) console.log(`${n.padEnd(12)} ${script}`);
        return;
      }
      if (!(name in scripts)) throw new UsageError(`no benchmark named ${JSON.stringify(name)} (benchmarks: ${Object.keys(scripts).join(', ') || 'none here'})`);
      const child = spawn('npm', ['run', '--silent', `bench:${name}`, ...(args.length ? ['--', ...args] : [])], { cwd: ROOT, stdio: 'inherit', env: process.env });
      const code = await new Promise<number>((resolve) => {
        child.once('error', () => resolve(1));
        child.once('close', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
      });
      process.exitCode = code;
    });
}

// `npm run bench`: runs every section and prints numbers beside their baselines, measured in the
// same run. Usage: npm run bench [-- --quick] [-- --only memory,execution,clusters,soak]
// Sections marked onRequest (minutes long) run only when --only names them.
import clusters from './clusters.js';
import context from './context.js';
import { daemonBench } from './daemon.js';
import type { BenchContext, BenchSection } from './lib.js';
import memory from './memory.js';
import { notesBench } from './notes.js';
import execution from './execution.js';
import soak from './soak.js';

// Each area adds its section here (bench/<area>.ts exporting a BenchSection).
const SECTIONS: BenchSection[] = [context, memory, daemonBench, notesBench, execution, clusters, soak];

async function main() {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const onlyArg = args.find((a) => a.startsWith('--only'));
  const only = onlyArg ? (onlyArg.includes('=') ? onlyArg.split('=')[1] : args[args.indexOf(onlyArg) + 1]).split(',') : undefined;
  const ctx: BenchContext = { quick, shared: {} };
  for (const section of SECTIONS) {
    if (only ? !only.includes(section.name) : section.onRequest) continue;
    console.log(`\n=== ${section.name} ===`);
    const t = performance.now();
    await section.run(ctx);
    console.log(`(${section.name}: ${((performance.now() - t) / 1000).toFixed(1)} s)`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

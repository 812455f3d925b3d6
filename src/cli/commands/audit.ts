// `brain audit`: the security review of one brain (see src/ops/audit.ts for what it reads).
// Exit code 1 when there is something for a person to look at.
import type { AuditReport } from '../../ops/audit.js';
import { defineCommand } from '../command.js';
import { cliConfig, requireDatabase, withApp } from '../context.js';
import { CliError, count, EXIT, EXIT_CODE_HELP, print, printJson, tally } from '../output.js';

const HEALTH_TIMEOUT_MS = 3000;

function auditText(r: AuditReport): string {
  const lines = [`brain audit of the last ${r.days} day(s), since ${r.since}`, ''];
  lines.push(`executions that hit a limit: ${r.executions.limit_hits.length ? tally(r.executions.by_limit) : 'none'}`);
  for (const h of r.executions.limit_hits.slice(0, 20)) {
    lines.push(`  #${h.id}  ${h.created_at}  ${h.limit.padEnd(15)} project ${h.project || '(global)'}, ${count(h.code_chars)} chars of code${h.cpu_ms === null ? '' : `, ${Math.round(h.cpu_ms)} ms CPU`}`);
  }
  if (r.executions.limit_hits.length > 20) lines.push(`  ... ${r.executions.limit_hits.length - 20} more (--json lists them all)`);
  lines.push('', `HTTP requests refused: ${r.http.refusals.length ? tally(r.http.by_reason) : 'none'} (failed logins: ${count(r.http.failed_logins)})`);
  for (const f of r.http.refusals.slice(0, 20)) lines.push(`  ${f.time}  ${f.port} ${f.reason}${f.status ? ` ${f.status}` : ''}${f.remote ? ` from ${f.remote}` : ''}${f.count > 1 ? ` (x${f.count})` : ''}`);
  if (r.http.note) lines.push(`  ${r.http.note}`);
  lines.push('', `refused secrets: not counted (${r.secrets.note})`);
  lines.push('', `sandbox: ${r.sandbox.service}`);
  for (const e of r.sandbox.events) lines.push(`  ${e.created_at}  ${e.type}: ${e.message}`);
  lines.push('', 'file permissions:');
  for (const p of r.permissions) lines.push(`  ${p.mode}  ${p.kind === 'directory' ? `${p.path}/` : p.path}${p.problem ? `  <- ${p.problem}` : ''}`);
  lines.push('', r.findings.length ? `${r.findings.length} finding(s):` : 'no findings');
  for (const f of r.findings) lines.push(`  [${f.section}] ${f.message}`);
  return lines.join('\n');
}

export const auditCommand = defineCommand({
  name: 'audit',
  summary: 'security review: limits hit, refused HTTP requests, sandbox state, file permissions; exit 1 on findings',
  details: [
    'Looks at the last DAYS days (default 7): executions stopped at a limit (time, memory, output,',
    'workspace quota, queue full), HTTP requests refused at the door (from combined.log under',
    'BRAIN_LOG_PATH; a wrong or missing token is a failed login), the running service\'s sandbox',
    '(GET /health on BRAIN_METRICS_PORT) and sandbox failures in the events, and who may read the',
    'database, its WAL, backups, logs, notes and the token file. Read-only.',
  ].join('\n'),
  epilog: `Exit codes:\n${EXIT_CODE_HELP.map(([c, m]) => `  ${c}  ${c === '1' ? 'there are findings (listed at the end)' : m}`).join('\n')}`,
  json: true,
  args: [{ name: 'DAYS', description: 'how many days back to look (default 7)', optional: true }],
  async run(inv) {
    const days = inv.args.DAYS === undefined ? 7 : Number(inv.args.DAYS);
    if (!Number.isInteger(days) || days < 1 || days > 3650) throw new CliError(`DAYS must be a whole number of days from 1 to 3650 (got ${inv.args.DAYS})`, EXIT.usage);
    const config = await cliConfig();
    requireDatabase(config);
    const { runAudit } = await import('../../ops/audit.js');
    const health = config.metricsPort
      ? async () => {
          try {
            const res = await fetch(`http://${config.metricsHost.includes(':') ? `[${config.metricsHost}]` : config.metricsHost}:${config.metricsPort}/health`, { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) });
            return { status: res.status, body: await res.json() };
          } catch {
            return undefined;
          }
        }
      : undefined;
    const report = await withApp(config, (app) => runAudit({ config, executions: app.executions, events: app.events, health }, days));
    if (inv.json) printJson(report);
    else print(auditText(report));
    return report.findings.length ? EXIT.failed : EXIT.ok;
  },
});

// Teams in the full export: every blueprint revision, every cluster (destroyed ones too, while
// they are kept), its agents, its task board and its messages, as stored. A blueprint revision or
// a cluster that exists already is left as it is, and so is everything of that cluster in the
// file. Task and message ids are kept where they are free; a message's send id follows its first
// delivery's new id.
import { stmt, type Db } from '../core/db.js';
import { BadRecord, emptyImport, recordFrom, reportBad, rowFrom, type AreaTransfer, type Column } from '../core/transfer.js';
import { SLUG } from './blueprint.js';

/** The kinds, in the order an import needs them (a cluster before what belongs to it). */
const KINDS = ['blueprint', 'cluster', 'cluster_agent', 'cluster_task', 'cluster_message'] as const;
type Kind = (typeof KINDS)[number];

// Specs stay the text they were stored as: a blueprint's spec_hash is taken over that text.
const COLUMNS: Record<Kind, Record<string, Column>> = {
  blueprint: { id: 'text', revision: 'int', name: 'text', version: 'text', description: 'text', cluster_type: 'text', yaml: 'text', spec: 'text', spec_hash: 'text', created_at: 'time' },
  cluster: {
    id: 'text', name: 'text', description: 'text', type: 'text', blueprint_id: 'text', blueprint_revision: 'int', spec: 'text', project: 'text', status: 'text',
    min_workers: 'int', max_workers: 'int', target_workers: 'int', health_score: 'real', backlog_high_since: 'time?', idle_since: 'time?', last_scaled_at: 'time?',
    created_at: 'time', updated_at: 'time', activated_at: 'time?', hibernated_at: 'time?', destroyed_at: 'time?',
  },
  cluster_agent: {
    id: 'text', cluster_id: 'text', agent: 'text', template: 'text', role: 'text', parent: 'text?', replica: 'int?', name: 'text', state: 'text', draining: 'int',
    manifest: 'text', created_at: 'time', last_seen_at: 'time?', retired_at: 'time?',
  },
  cluster_task: {
    id: 'int', cluster_id: 'text', task_kind: 'text', payload: 'json', priority: 'int', role: 'text?', status: 'text', posted_by: 'text', claimed_by: 'text?',
    lease_expires_at: 'time?', attempts: 'int', max_attempts: 'int', result: 'json?', error: 'text?', created_at: 'time', claimed_at: 'time?', finished_at: 'time?',
  },
  cluster_message: {
    id: 'int', cluster_id: 'text', send_id: 'int', from_agent: 'text', to_agent: 'text', audience: 'text', priority: 'int', subject: 'text', body: 'text',
    context: 'json?', created_at: 'time', acknowledged_at: 'time?',
  },
};

const SOURCE: Record<Kind, string> = {
  blueprint: 'SELECT * FROM cluster_blueprints ORDER BY id, revision',
  cluster: 'SELECT * FROM clusters ORDER BY created_at, id',
  cluster_agent: 'SELECT * FROM cluster_agents ORDER BY cluster_id, created_at, id',
  // A task's own "kind" column is task_kind in a record, whose "kind" says what the record is.
  cluster_task: 'SELECT *, kind AS task_kind FROM cluster_tasks ORDER BY id',
  cluster_message: 'SELECT * FROM messages ORDER BY id',
};

const TABLE: Record<Kind, string> = {
  blueprint: 'cluster_blueprints',
  cluster: 'clusters',
  cluster_agent: 'cluster_agents',
  cluster_task: 'cluster_tasks',
  cluster_message: 'messages',
};

function insert(db: Db, kind: Kind, row: Record<string, unknown>): number {
  const names = Object.keys(COLUMNS[kind]);
  const column = (name: string) => (name === 'task_kind' ? 'kind' : name);
  const sql = `INSERT INTO ${TABLE[kind]} (${names.map(column).join(', ')}) VALUES (${names.map((n) => `@${n}`).join(', ')})`;
  return Number(stmt(db, sql).run(row).lastInsertRowid);
}

export function clusterTransfer(db: Db): AreaTransfer {
  return {
    kinds: KINDS,
    *exportRecords() {
      for (const kind of KINDS) {
        for (const row of db.prepare(SOURCE[kind]).iterate() as Iterable<Record<string, unknown>>) yield recordFrom(kind, row, COLUMNS[kind]);
      }
    },
    importRecords(records) {
      const report = emptyImport(KINDS);
      const byKind = new Map<string, typeof records>(KINDS.map((k) => [k, []]));
      for (const r of records) byKind.get(r.value.kind)?.push(r);
      /** Clusters that were here before the import: what the file says about them is left out. */
      const kept = new Set<string>();
      const sendIds = new Map<number, number>();
      db.transaction(() => {
        for (const kind of KINDS) {
          const tally = report.kinds[kind];
          for (const { line, value } of byKind.get(kind)!) {
            try {
              const row = rowFrom(value, COLUMNS[kind]);
              if (kind === 'blueprint' || kind === 'cluster') {
                if (!SLUG.test(String(row.id))) throw new BadRecord(`"id" ${JSON.stringify(row.id)} is not a ${kind} id (lowercase letters, digits and "-")`);
                const exists = kind === 'blueprint'
                  ? stmt(db, 'SELECT 1 FROM cluster_blueprints WHERE id = ? AND revision = ?').get(row.id, row.revision)
                  : stmt(db, 'SELECT 1 FROM clusters WHERE id = ?').get(row.id);
                if (exists) {
                  if (kind === 'cluster') kept.add(String(row.id));
                  tally.skipped++;
                  continue;
                }
                insert(db, kind, row);
              } else if (kept.has(String(row.cluster_id)) || (kind === 'cluster_agent' && stmt(db, 'SELECT 1 FROM cluster_agents WHERE id = ?').get(row.id))) {
                tally.skipped++;
                continue;
              } else if (kind === 'cluster_agent') {
                insert(db, kind, row);
              } else {
                const oldId = Number(row.id);
                const free = !stmt(db, `SELECT 1 FROM ${TABLE[kind]} WHERE id = ?`).get(oldId);
                if (kind === 'cluster_message') {
                  const id = insert(db, kind, { ...row, id: free ? oldId : null, send_id: 0 });
                  const first = Number(row.send_id) === oldId;
                  if (first) sendIds.set(oldId, id);
                  // The first delivery's id, as it is now; as it was when that delivery is not in the file (acknowledged and removed).
                  const sendId = first ? id : (sendIds.get(Number(row.send_id)) ?? (free ? Number(row.send_id) : id));
                  stmt(db, 'UPDATE messages SET send_id = ? WHERE id = ?').run(sendId, id);
                } else {
                  insert(db, kind, { ...row, id: free ? oldId : null });
                }
              }
              tally.created++;
            } catch (err) {
              reportBad(report, line, err);
            }
          }
        }
      }).immediate();
      return report;
    },
  };
}

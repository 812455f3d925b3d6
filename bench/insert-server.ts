// An MCP server built like the no-op floor whose one tool does only what SQLite must do for a new
// memory: the INSERT of its row and tag in one write transaction, committed before the answer,
// on a copy of brain's database (so the schema's triggers keep FTS5 and the change log in step,
// as they do for brain). No validation beyond the SDK's, no secrets check, no index, no metrics.
// Timed beside brain's remember, it shows how much of remember's latency is the durable write
// itself on this machine, apart from everything brain adds to it.
import Database from 'better-sqlite3';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const db = new Database(process.env.INSERT_DB ?? '', { fileMustExist: true });
// The pragmas brain's connection uses (src/core/db.ts).
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('foreign_keys = ON');
db.pragma('cache_size = -65536');
db.pragma('temp_store = MEMORY');
db.pragma('mmap_size = 268435456');
const insertRow = db
  .prepare(
    `INSERT INTO memories (project, key, content, type, tags, importance, storage_tier, size_bytes, memory_score, version, created_at, updated_at)
     VALUES ('', ?, ?, ?, ?, 0.5, 'warm', ?, 0.45, 1, ?, ?) RETURNING id`,
  )
  .pluck();
const insertTag = db.prepare('INSERT OR IGNORE INTO memory_tags (tag, memory_id) VALUES (?, ?)');
const write = db.transaction((a: { key: string; content: string; type: string; tags: string[] }) => {
  const now = new Date().toISOString().replace('T', ' ').slice(0, 23);
  const id = insertRow.get(a.key, a.content, a.type, JSON.stringify(a.tags), Buffer.byteLength(a.content), now, now) as number;
  for (const tag of a.tags) insertTag.run(tag, id);
  return id;
});

const server = new McpServer({ name: 'insert-only', version: '1.0.0' });
server.registerTool(
  'remember',
  {
    description: 'Inserts a memory row.',
    inputSchema: { key: z.string(), content: z.string(), type: z.string(), tags: z.array(z.string()), allow_secrets: z.boolean().optional() },
    outputSchema: { id: z.number() },
  },
  async (a) => {
    const id = write.immediate(a);
    return { content: [{ type: 'text', text: JSON.stringify({ id }) }], structuredContent: { id } };
  },
);
await server.connect(new StdioServerTransport());
process.stdin.on('end', () => {
  db.close();
  process.exit(0);
});

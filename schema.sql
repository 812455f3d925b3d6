-- brain: the whole schema. Applied idempotently at start-up (every statement is IF [NOT] EXISTS);
-- PRAGMA user_version and src/core/db.ts MIGRATIONS handle changes to existing files.
-- Times are UTC text 'YYYY-MM-DD HH:MM:SS.SSS': they sort, and datetime()/julianday() read them.

-- ---------------------------------------------------------------- memories
CREATE TABLE IF NOT EXISTS memories (
  id            INTEGER PRIMARY KEY,
  project       TEXT    NOT NULL DEFAULT '',          -- '' = global, visible from every project
  key           TEXT    NOT NULL,
  content       TEXT    NOT NULL,
  type          TEXT    NOT NULL DEFAULT 'general',
  tags          TEXT    NOT NULL DEFAULT '[]',         -- JSON array; memory_tags is the index
  importance    REAL    NOT NULL DEFAULT 0.5 CHECK (importance BETWEEN 0 AND 1),
  storage_tier  TEXT    NOT NULL DEFAULT 'warm' CHECK (storage_tier IN ('hot', 'warm')),
  access_count  INTEGER NOT NULL DEFAULT 0,
  memory_score  REAL    NOT NULL DEFAULT 0,
  size_bytes    INTEGER NOT NULL,
  version       INTEGER NOT NULL DEFAULT 1,
  created_at    TEXT    NOT NULL,
  updated_at    TEXT    NOT NULL,
  accessed_at   TEXT,
  expires_at    TEXT,
  UNIQUE (project, key)
);
-- Only hot memories are in this index (the hot cache loads them): a new warm memory writes no page of it.
DROP INDEX IF EXISTS memories_tier_score;
CREATE INDEX IF NOT EXISTS memories_hot ON memories (memory_score DESC) WHERE storage_tier = 'hot';
CREATE INDEX IF NOT EXISTS memories_type ON memories (type, project);
CREATE INDEX IF NOT EXISTS memories_updated ON memories (project, updated_at);
CREATE INDEX IF NOT EXISTS memories_expires ON memories (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS memory_tags (
  tag       TEXT    NOT NULL,
  memory_id INTEGER NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
  PRIMARY KEY (tag, memory_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS memory_tags_memory ON memory_tags (memory_id);

-- Earlier versions and forgotten memories, kept for BRAIN_RETENTION_DAYS so nothing is lost by accident.
CREATE TABLE IF NOT EXISTS memory_history (
  id          INTEGER PRIMARY KEY,
  memory_id   INTEGER NOT NULL,
  project     TEXT    NOT NULL,
  key         TEXT    NOT NULL,
  content     TEXT    NOT NULL,
  type        TEXT    NOT NULL,
  tags        TEXT    NOT NULL,
  importance  REAL    NOT NULL,
  version     INTEGER NOT NULL,
  created_at  TEXT    NOT NULL,
  expires_at  TEXT,
  reason      TEXT    NOT NULL CHECK (reason IN ('updated', 'forgotten')),
  archived_at TEXT    NOT NULL,
  relations   TEXT    NOT NULL DEFAULT '[]'          -- JSON [{type, to}]: the version's relations
);
CREATE INDEX IF NOT EXISTS memory_history_key ON memory_history (project, key, archived_at);
CREATE INDEX IF NOT EXISTS memory_history_memory ON memory_history (memory_id);
CREATE INDEX IF NOT EXISTS memory_history_archived ON memory_history (archived_at);

-- Typed, directed relations: memory_id (the memory they start from) -> the memory with key to_key
-- in the same project, else in global. A key, not an id: a relation to a memory that does not
-- exist yet (or was forgotten) is kept and resolves when a memory with that key appears.
-- They belong to the memory they start from, so its versions carry them (memory_history.relations).
CREATE TABLE IF NOT EXISTS memory_relations (
  memory_id INTEGER NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
  type      TEXT    NOT NULL,
  to_key    TEXT    NOT NULL,
  PRIMARY KEY (memory_id, type, to_key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS memory_relations_to ON memory_relations (to_key);

-- Full-text search: words (porter stemming, BM25) as the main index ...
CREATE VIRTUAL TABLE IF NOT EXISTS memories_fts USING fts5 (
  key, content, tags,
  content = 'memories', content_rowid = 'id',
  tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS memories_fts_insert AFTER INSERT ON memories BEGIN
  INSERT INTO memories_fts (rowid, key, content, tags) VALUES (new.id, new.key, new.content, new.tags);
END;
CREATE TRIGGER IF NOT EXISTS memories_fts_delete AFTER DELETE ON memories BEGIN
  INSERT INTO memories_fts (memories_fts, rowid, key, content, tags) VALUES ('delete', old.id, old.key, old.content, old.tags);
END;
CREATE TRIGGER IF NOT EXISTS memories_fts_update AFTER UPDATE OF key, content, tags ON memories BEGIN
  INSERT INTO memories_fts (memories_fts, rowid, key, content, tags) VALUES ('delete', old.id, old.key, old.content, old.tags);
  INSERT INTO memories_fts (rowid, key, content, tags) VALUES (new.id, new.key, new.content, new.tags);
END;

-- Every change to a memory except its access statistics, in commit order. Each brain process keeps
-- an in-process index of memories for fast ranking (src/memory/live-index.ts); it reads this log
-- to catch up with its own writes and with those of other processes sharing the file.
-- words = 1 when the memory's words changed (or it was added or deleted), 0 for other columns.
-- seq never goes back: pruning (live-index.ts) always keeps the newest row, so no AUTOINCREMENT
-- (which would write one more page on every change).
CREATE TABLE IF NOT EXISTS memory_changes (
  seq       INTEGER PRIMARY KEY,
  memory_id INTEGER NOT NULL,
  words     INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS memory_changes_insert AFTER INSERT ON memories BEGIN
  INSERT INTO memory_changes (memory_id, words) VALUES (new.id, 1);
END;
CREATE TRIGGER IF NOT EXISTS memory_changes_delete AFTER DELETE ON memories BEGIN
  INSERT INTO memory_changes (memory_id, words) VALUES (old.id, 1);
END;
CREATE TRIGGER IF NOT EXISTS memory_changes_words AFTER UPDATE OF key, content, tags ON memories BEGIN
  INSERT INTO memory_changes (memory_id, words) VALUES (new.id, 1);
END;
CREATE TRIGGER IF NOT EXISTS memory_changes_other AFTER UPDATE OF project, type, importance, storage_tier, updated_at, expires_at ON memories BEGIN
  INSERT INTO memory_changes (memory_id, words) VALUES (new.id, 0);
END;

-- The recall index file beside the database (src/memory/index-file.ts): the token and seq of the
-- snapshot that is there, recorded in the transaction that renamed it into place. A file with
-- another token (a restored backup, a copied file) is checked against every row before use.
CREATE TABLE IF NOT EXISTS recall_index_file (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  token      TEXT    NOT NULL,
  seq        INTEGER NOT NULL,
  written_at TEXT    NOT NULL
);

-- Every distinct word ever stored, with a trigram index over the words: the fallback for
-- fragments ("kubern") and misspellings ("kubernets") finds close words here, then searches
-- memories_fts with them. Indexing words instead of whole memories keeps writes cheap.
CREATE TABLE IF NOT EXISTS memory_terms (
  id   INTEGER PRIMARY KEY,
  term TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE IF NOT EXISTS memory_terms_trgm USING fts5 (
  term, content = 'memory_terms', content_rowid = 'id', tokenize = 'trigram remove_diacritics 1'
);
CREATE TRIGGER IF NOT EXISTS memory_terms_insert AFTER INSERT ON memory_terms BEGIN
  INSERT INTO memory_terms_trgm (rowid, term) VALUES (new.id, new.term);
END;
CREATE VIRTUAL TABLE IF NOT EXISTS memory_terms_trgm_vocab USING fts5vocab (memory_terms_trgm, 'row');

-- Tier moves, so statistics can show how the hot tier changes over time.
CREATE TABLE IF NOT EXISTS tier_moves (
  id         INTEGER PRIMARY KEY,
  at         TEXT    NOT NULL,
  trigger    TEXT    NOT NULL,       -- 'schedule' | 'overflow' | 'manual' | 'startup'
  promoted   INTEGER NOT NULL,
  demoted    INTEGER NOT NULL,
  hot_items  INTEGER NOT NULL,
  hot_bytes  INTEGER NOT NULL,
  elapsed_ms REAL    NOT NULL
);

-- ---------------------------------------------------------------- sessions
CREATE TABLE IF NOT EXISTS sessions (
  id           TEXT PRIMARY KEY,
  client       TEXT,
  project      TEXT NOT NULL DEFAULT '',
  started_at   TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  expires_at   TEXT NOT NULL,
  ended_at     TEXT
);
CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires_at);

-- ---------------------------------------------------------------- operations
CREATE TABLE IF NOT EXISTS config (
  key        TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS query_log (
  id         INTEGER PRIMARY KEY,
  sql        TEXT NOT NULL,
  elapsed_ms REAL NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS query_log_created ON query_log (created_at);

-- ---------------------------------------------------------------- events
-- System events (start/stop, rebalances, backups, maintenance, failures) and ones the assistant
-- or an operator records. Field names follow the events API of the reference deployment.
CREATE TABLE IF NOT EXISTS events (
  id         INTEGER PRIMARY KEY,
  event_type TEXT NOT NULL,
  severity   TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'error', 'critical')),
  message    TEXT NOT NULL,
  source     TEXT,
  details    TEXT,                                   -- JSON object or NULL
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_type ON events (event_type, id);
CREATE INDEX IF NOT EXISTS events_severity ON events (severity, id);
CREATE INDEX IF NOT EXISTS events_created ON events (created_at);

CREATE VIRTUAL TABLE IF NOT EXISTS events_fts USING fts5 (
  message,
  content = 'events', content_rowid = 'id',
  tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS events_fts_insert AFTER INSERT ON events BEGIN
  INSERT INTO events_fts (rowid, message) VALUES (new.id, new.message);
END;
CREATE TRIGGER IF NOT EXISTS events_fts_delete AFTER DELETE ON events BEGIN
  INSERT INTO events_fts (events_fts, rowid, message) VALUES ('delete', old.id, old.message);
END;
CREATE TRIGGER IF NOT EXISTS events_fts_update AFTER UPDATE OF message ON events BEGIN
  INSERT INTO events_fts (events_fts, rowid, message) VALUES ('delete', old.id, old.message);
  INSERT INTO events_fts (rowid, message) VALUES (new.id, new.message);
END;
-- ---------------------------------------------------------------- projects
CREATE TABLE IF NOT EXISTS projects (
  name        TEXT PRIMARY KEY,
  description TEXT NOT NULL DEFAULT '',
  context     TEXT NOT NULL DEFAULT '{}',   -- JSON: goals, decisions, conventions, open_questions
  status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
  version     INTEGER NOT NULL DEFAULT 1,
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL,
  archived_at TEXT
);
-- Names differing only in case would share one notes folder on case-insensitive file systems.
CREATE UNIQUE INDEX IF NOT EXISTS projects_name_nocase ON projects (name COLLATE NOCASE);

-- ---------------------------------------------------------------- notes
-- The Markdown files under BRAIN_NOTES_PATH are the truth; this is their index, reconciled from
-- the files (size, mtime and hash say when a file changed outside brain).
CREATE TABLE IF NOT EXISTS notes (
  id          INTEGER PRIMARY KEY,
  project     TEXT    NOT NULL DEFAULT '',   -- '' = global (folder _global)
  path        TEXT    NOT NULL,              -- inside the project folder, '/'-separated, ends in .md
  title       TEXT    NOT NULL,
  tags        TEXT    NOT NULL DEFAULT '[]',
  body        TEXT    NOT NULL,
  created_at  TEXT    NOT NULL,
  updated_at  TEXT    NOT NULL,
  accessed_at TEXT,
  touched_at  TEXT    NOT NULL,              -- max(updated_at, accessed_at): "recently touched" order
  hash        TEXT    NOT NULL,              -- sha256 of the file's bytes (first 16 hex digits)
  size_bytes  INTEGER NOT NULL,
  mtime_ms    REAL    NOT NULL,
  problems    TEXT,                          -- JSON array of what could not be read, or NULL
  UNIQUE (project, path)
);
CREATE INDEX IF NOT EXISTS notes_touched ON notes (touched_at);

CREATE VIRTUAL TABLE IF NOT EXISTS notes_fts USING fts5 (
  title, body, tags,
  content = 'notes', content_rowid = 'id',
  tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS notes_fts_insert AFTER INSERT ON notes BEGIN
  INSERT INTO notes_fts (rowid, title, body, tags) VALUES (new.id, new.title, new.body, new.tags);
END;
CREATE TRIGGER IF NOT EXISTS notes_fts_delete AFTER DELETE ON notes BEGIN
  INSERT INTO notes_fts (notes_fts, rowid, title, body, tags) VALUES ('delete', old.id, old.title, old.body, old.tags);
END;
CREATE TRIGGER IF NOT EXISTS notes_fts_update AFTER UPDATE OF title, body, tags ON notes BEGIN
  INSERT INTO notes_fts (notes_fts, rowid, title, body, tags) VALUES ('delete', old.id, old.title, old.body, old.tags);
  INSERT INTO notes_fts (rowid, title, body, tags) VALUES (new.id, new.title, new.body, new.tags);
END;

-- The stemmed words of all notes, for spelling corrections in note search (src/notes/store.ts).
CREATE VIRTUAL TABLE IF NOT EXISTS notes_fts_vocab USING fts5vocab (notes_fts, 'row');

-- [[wiki links]]: target is the link text normalised (see src/notes/paths.ts linkKey).
CREATE TABLE IF NOT EXISTS note_links (
  source_id INTEGER NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
  target    TEXT    NOT NULL,
  PRIMARY KEY (target, source_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS note_links_source ON note_links (source_id);

-- What a note answers to, normalised as link targets are (linkKey): its path, file name, title and
-- front matter aliases. note_read by title and [[links]] (backlinks) find notes through it.
CREATE TABLE IF NOT EXISTS note_names (
  key     TEXT    NOT NULL,
  note_id INTEGER NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
  PRIMARY KEY (key, note_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS note_names_note ON note_names (note_id);

-- ---------------------------------------------------------------- executions
-- One row per execute call, whatever happened to it. The full output lives in files under
-- BRAIN_EXECUTION_PATH/outputs (pageable with the executions tool); the row keeps its head and tail.
CREATE TABLE IF NOT EXISTS executions (
  id             INTEGER PRIMARY KEY,
  project        TEXT    NOT NULL DEFAULT '',
  session_id     TEXT,
  language       TEXT    NOT NULL,
  code           TEXT    NOT NULL,
  status         TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'timeout', 'oom',
                                                    'output_truncated', 'cancelled', 'rejected')),
  exit_code      INTEGER,
  signal         TEXT,
  error          TEXT,
  stdout_head    TEXT,
  stdout_tail    TEXT,
  stdout_bytes   INTEGER NOT NULL DEFAULT 0,
  stdout_stored  INTEGER NOT NULL DEFAULT 0,
  stderr_head    TEXT,
  stderr_tail    TEXT,
  stderr_bytes   INTEGER NOT NULL DEFAULT 0,
  stderr_stored  INTEGER NOT NULL DEFAULT 0,
  files          TEXT    NOT NULL DEFAULT '[]',
  images         INTEGER NOT NULL DEFAULT 0,
  timeout_ms     INTEGER NOT NULL,
  queue_ms       REAL,
  wall_ms        REAL,
  cpu_ms         REAL,
  max_rss_kb     INTEGER,
  warm           INTEGER,
  host_pid       INTEGER,
  created_at     TEXT    NOT NULL,
  started_at     TEXT,
  finished_at    TEXT
);
CREATE INDEX IF NOT EXISTS executions_created ON executions (created_at);
CREATE INDEX IF NOT EXISTS executions_project ON executions (project, created_at);
CREATE INDEX IF NOT EXISTS executions_status ON executions (status, created_at);

-- ---------------------------------------------------------------- clusters
-- Teams of agents made from YAML blueprints (src/clusters/). A blueprint keeps every revision whose
-- validated spec differs from the one before; a cluster snapshots the spec it was made from, so
-- editing or deleting a blueprint never changes a running team.
CREATE TABLE IF NOT EXISTS cluster_blueprints (
  id           TEXT    NOT NULL,               -- metadata.id
  revision     INTEGER NOT NULL,               -- 1, 2, ... one per change of the spec
  name         TEXT    NOT NULL,
  version      TEXT    NOT NULL,               -- metadata.version as written
  description  TEXT    NOT NULL DEFAULT '',
  cluster_type TEXT    NOT NULL,
  yaml         TEXT    NOT NULL,               -- the text as saved (comments kept)
  spec         TEXT    NOT NULL,               -- validated JSON, defaults filled in
  spec_hash    TEXT    NOT NULL,
  created_at   TEXT    NOT NULL,
  PRIMARY KEY (id, revision)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS clusters (
  id                 TEXT    PRIMARY KEY,      -- slug, part of every agent id
  name               TEXT    NOT NULL,
  description        TEXT    NOT NULL DEFAULT '',
  type               TEXT    NOT NULL,
  blueprint_id       TEXT    NOT NULL,
  blueprint_revision INTEGER NOT NULL,
  spec               TEXT    NOT NULL,         -- the blueprint spec it was made from (JSON)
  project            TEXT    NOT NULL,         -- memory and note scope its agents share
  status             TEXT    NOT NULL CHECK (status IN ('planning', 'spawning', 'active', 'hibernated', 'destroyed')),
  min_workers        INTEGER NOT NULL,
  max_workers        INTEGER NOT NULL,
  target_workers     INTEGER NOT NULL,
  health_score       REAL    NOT NULL DEFAULT 1,
  backlog_high_since TEXT,                     -- auto-scaling: since when the backlog is above the policy
  idle_since         TEXT,                     -- auto-scaling: since when nothing is queued or running
  last_scaled_at     TEXT,
  created_at         TEXT    NOT NULL,
  updated_at         TEXT    NOT NULL,
  activated_at       TEXT,
  hibernated_at      TEXT,
  destroyed_at       TEXT,
  CHECK (min_workers <= target_workers AND target_workers <= max_workers)
);
CREATE INDEX IF NOT EXISTS clusters_status ON clusters (status);
CREATE INDEX IF NOT EXISTS clusters_blueprint ON clusters (blueprint_id);

CREATE TABLE IF NOT EXISTS cluster_agents (
  id           TEXT    PRIMARY KEY,            -- '<cluster>/<agent>', what tools take as `agent`
  cluster_id   TEXT    NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
  agent        TEXT    NOT NULL,               -- id inside the cluster ('lead', 'coder-2')
  template     TEXT    NOT NULL,               -- blueprint agent id it was made from ('coder')
  role         TEXT    NOT NULL CHECK (role IN ('supervisor', 'lead', 'specialist', 'worker')),
  parent       TEXT,                           -- full id of its parent agent, NULL for the root
  replica      INTEGER,                        -- n of '<template>-<n>' for workers, NULL otherwise
  name         TEXT    NOT NULL,
  state        TEXT    NOT NULL CHECK (state IN ('idle', 'busy', 'retired')),
  draining     INTEGER NOT NULL DEFAULT 0,     -- 1: retire when its running tasks end, claim nothing new
  manifest     TEXT    NOT NULL,               -- Markdown: README and skills from the blueprint
  created_at   TEXT    NOT NULL,
  last_seen_at TEXT,
  retired_at   TEXT,
  UNIQUE (cluster_id, agent)
);
CREATE INDEX IF NOT EXISTS cluster_agents_role ON cluster_agents (cluster_id, role, state);

-- Messages between agents (ContextSyncV2 on the one SQLite file): one row per delivery, so a
-- broadcast to five agents is five rows that each recipient acknowledges on its own.
CREATE TABLE IF NOT EXISTS messages (
  id              INTEGER PRIMARY KEY,
  cluster_id      TEXT    NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
  send_id         INTEGER NOT NULL,            -- id of the first delivery of the same send
  from_agent      TEXT    NOT NULL,
  to_agent        TEXT    NOT NULL,
  audience        TEXT    NOT NULL,            -- 'direct' | 'role:<role or blueprint agent>' | 'broadcast'
  priority        INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 3),   -- low, normal, high, critical
  subject         TEXT    NOT NULL,
  body            TEXT    NOT NULL DEFAULT '',
  context         TEXT,                        -- JSON or NULL
  created_at      TEXT    NOT NULL,
  acknowledged_at TEXT
);
CREATE INDEX IF NOT EXISTS messages_pending ON messages (to_agent, priority DESC, id) WHERE acknowledged_at IS NULL;
CREATE INDEX IF NOT EXISTS messages_inbox ON messages (to_agent, id);
CREATE INDEX IF NOT EXISTS messages_pair ON messages (from_agent, to_agent, id);
CREATE INDEX IF NOT EXISTS messages_acknowledged ON messages (acknowledged_at) WHERE acknowledged_at IS NOT NULL;

-- The task board: a queue per cluster, claimed with a lease. Two workers never hold one task:
-- a claim is one IMMEDIATE transaction, and only the holder can finish it.
CREATE TABLE IF NOT EXISTS cluster_tasks (
  id               INTEGER PRIMARY KEY,
  cluster_id       TEXT    NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
  kind             TEXT    NOT NULL,
  payload          TEXT    NOT NULL,           -- JSON
  priority         INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 3),
  role             TEXT,                       -- who may claim: a role or blueprint agent; NULL = any worker
  status           TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'dead')),
  posted_by        TEXT    NOT NULL,           -- agent id, or 'assistant'
  claimed_by       TEXT,
  lease_expires_at TEXT,
  attempts         INTEGER NOT NULL DEFAULT 0,
  max_attempts     INTEGER NOT NULL,
  result           TEXT,                       -- JSON, when succeeded
  error            TEXT,                       -- the last failure's reason
  created_at       TEXT    NOT NULL,
  claimed_at       TEXT,
  finished_at      TEXT
);
CREATE INDEX IF NOT EXISTS cluster_tasks_queue ON cluster_tasks (cluster_id, priority DESC, id) WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS cluster_tasks_leases ON cluster_tasks (cluster_id, lease_expires_at) WHERE status = 'running';
CREATE INDEX IF NOT EXISTS cluster_tasks_holder ON cluster_tasks (claimed_by) WHERE status = 'running';
CREATE INDEX IF NOT EXISTS cluster_tasks_status ON cluster_tasks (cluster_id, status, id);
CREATE INDEX IF NOT EXISTS cluster_tasks_finished ON cluster_tasks (cluster_id, finished_at) WHERE finished_at IS NOT NULL;

-- Per-cluster snapshots (what auto-scaling and the health score decide from, kept for history).
CREATE TABLE IF NOT EXISTS cluster_metrics (
  id                 INTEGER PRIMARY KEY,
  cluster_id         TEXT    NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
  at                 TEXT    NOT NULL,
  workers            INTEGER NOT NULL,
  agents_idle        INTEGER NOT NULL,
  agents_busy        INTEGER NOT NULL,
  agents_retired     INTEGER NOT NULL,
  tasks_queued       INTEGER NOT NULL,
  tasks_running      INTEGER NOT NULL,
  backlog_per_worker REAL    NOT NULL,
  messages_pending   INTEGER NOT NULL,
  completed_per_min  REAL    NOT NULL,
  failed_per_min     REAL    NOT NULL,
  health_score       REAL    NOT NULL
);
CREATE INDEX IF NOT EXISTS cluster_metrics_cluster ON cluster_metrics (cluster_id, at);
CREATE INDEX IF NOT EXISTS cluster_metrics_at ON cluster_metrics (at);

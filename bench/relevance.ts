// A relevance set for recall: memories an assistant would keep, and queries it would search with
// (plain words, other word forms, misspellings, fragments). Each query names the memory that must
// come back in the top 10. They are mixed into the man-page corpus, which shares much vocabulary.

export interface Needle {
  key: string;
  content: string;
  type?: string;
  tags?: string[];
  queries: string[];
}

export const NEEDLES: Needle[] = [
  { key: 'pref-editor', type: 'user_preferences', content: 'The user prefers vim keybindings in every editor and IDE they use.', queries: ['which editor keybindings does the user like', 'vim keybinding preference', 'keybindngs'] },
  { key: 'pref-indent', type: 'user_preferences', content: 'Indent Python with 4 spaces, TypeScript with 2 spaces; never tabs.', queries: ['indentation spaces or tabs', 'typescript indent width', 'indnetation'] },
  { key: 'pref-tone', type: 'user_preferences', content: 'Answer concisely, skip pleasantries, and show code before explanations.', queries: ['how should answers be written concise', 'pleasantries', 'explanation after code'] },
  { key: 'pref-tests', type: 'user_preferences', content: 'Always write a failing test before fixing a bug; use vitest for TypeScript projects.', queries: ['testing framework for typescript', 'failing test before bugfix', 'vitst'] },
  { key: 'staging-db', content: 'The staging database is PostgreSQL 16 running on host db-staging.internal, port 5433.', tags: ['infra'], queries: ['staging postgres host and port', 'which port does staging database use', 'postgre staging'] },
  { key: 'deploy-process', content: 'Deployments go out on Tuesdays and Thursdays after the release checklist is signed off by Maria.', queries: ['when do deployments happen', 'release checklist sign off', 'deploymnet days'] },
  { key: 'api-rate-limit', content: 'The public API is rate limited to 600 requests per minute per token; bursts up to 100.', queries: ['api rate limit per minute', 'how many requests burst allowed', 'ratelimit'] },
  { key: 'cat-name', content: "The user's cat is called Biscuit and is afraid of the vacuum cleaner.", queries: ['name of the cat', 'Biscuit', 'what pet does the user have cat'] },
  { key: 'birthday', content: "The user's birthday is on the 14th of March; they like chocolate cake.", queries: ['when is the birthday', 'favourite cake', 'birthdy march'] },
  { key: 'kube-cluster', content: 'Production runs on a Kubernetes cluster of three nodes in Frankfurt (eu-central-1).', tags: ['infra'], queries: ['kubernetes production cluster region', 'how many nodes in production', 'kubernets frankfurt'] },
  { key: 'oncall', content: 'On-call rotation changes every Monday at 09:00; escalation goes to the platform team lead.', queries: ['on call rotation schedule', 'who handles escalation', 'rotaton monday'] },
  { key: 'coffee', content: 'The user drinks oat-milk flat whites and no coffee after 3 pm.', queries: ['coffee preference', 'oat milk', 'flat white'] },
  { key: 'decision-orm', type: 'decision', content: 'Decided to drop the ORM and write SQL by hand with prepared statements, for predictable query plans.', queries: ['why did we stop using the ORM', 'hand written sql decision', 'prepard statements'] },
  { key: 'decision-monorepo', type: 'decision', content: 'The frontend and backend live in one monorepo managed with pnpm workspaces.', queries: ['monorepo package manager', 'pnpm workspaces', 'is the frontend in a separate repository'] },
  { key: 'lesson-timezones', type: 'lesson', content: 'Store timestamps in UTC and convert to the user timezone only when rendering; a DST bug cost two days in 2025.', queries: ['timezone handling lesson', 'daylight saving bug', 'timestmps utc'] },
  { key: 'vpn', content: 'To reach internal services, connect to the WireGuard VPN profile "office-berlin" first.', queries: ['how to connect to internal services', 'wireguard profile name', 'vpn berln'] },
  { key: 'ci-cache', content: 'CI caches node_modules keyed on the lockfile hash; clearing it fixes most flaky install failures.', queries: ['flaky install in CI', 'ci cache key', 'lockfile hash cache'] },
  { key: 'meeting', content: 'Weekly planning meeting with the design team is on Wednesdays at 14:30 Berlin time.', queries: ['when is the planning meeting', 'design team meeting', 'wednesday meting'] },
  { key: 'laptop', content: 'The user works on a ThinkPad X1 Carbon running Fedora with GNOME and 32 GB of RAM.', queries: ['what laptop does the user have', 'operating system of the user machine', 'thinkpad fedora'] },
  { key: 'allergy', content: 'The user is allergic to peanuts; suggest restaurants accordingly.', queries: ['food allergies', 'peanut', 'allergic restaurants'] },
  { key: 'project-goal', content: 'Goal for Q3: cut p95 checkout latency below 300 ms and reach 99.9% availability.', queries: ['q3 goals', 'checkout latency target', 'availability goal'] },
  { key: 'bug-memory-leak', content: 'The memory leak in the image resizer came from caching decoded bitmaps without a size bound.', queries: ['memory leak cause', 'image resizer bug', 'bitmap cache leak'] },
  { key: 'style-commits', type: 'user_preferences', content: 'Commit messages use the imperative mood and reference the ticket number, e.g. "Fix login redirect (SHOP-412)".', queries: ['commit message style', 'ticket number in commits', 'imperative mood'] },
  { key: 'language-pref', type: 'user_preferences', content: 'Reply in English, but the user is a native German speaker; explain idioms when used.', queries: ['which language to reply in', 'native language german', 'idioms'] },
  { key: 'backup-schedule', content: 'Nightly backups of the customer database run at 02:00 UTC and are kept for 35 days in the cold storage bucket.', queries: ['backup retention days', 'when do nightly backups run', 'customer database backup'] },
  { key: 'feature-flag', content: 'The new search page is behind the feature flag search_v2, enabled for 10% of users.', queries: ['search page feature flag', 'rollout percentage of new search', 'search_v2'] },
  { key: 'contact-ops', content: 'Questions about DNS and certificates go to Priya from the infrastructure team.', queries: ['who to ask about certificates', 'dns questions contact', 'Priya'] },
  { key: 'book', content: 'The user is currently reading "The Pragmatic Programmer" and enjoys technical books on systems design.', queries: ['what book is the user reading', 'pragmatic programmer', 'favourite book genre'] },
  { key: 'hiking', content: 'On weekends the user goes hiking in the Harz mountains and prefers trails under 20 km.', queries: ['weekend hobbies', 'hiking trails length', 'harz'] },
  { key: 'error-budget', content: 'When the error budget is exhausted, feature work pauses until reliability fixes ship.', queries: ['what happens when error budget runs out', 'reliability policy', 'eror budget'] },
  { key: 'python-version', content: 'Data pipelines are pinned to Python 3.11 because a dependency breaks on 3.12.', queries: ['which python version for pipelines', 'why not python 3.12', 'pinned python'] },
  { key: 'logging', content: 'Services log JSON to stdout; Loki collects it and Grafana dashboards read from Loki.', queries: ['where do logs go', 'loki grafana logging', 'json logs collection'] },
  { key: 'secrets-manager', content: 'Application secrets live in HashiCorp Vault under the path kv/shop/<service>; never in environment files.', queries: ['where are secrets stored', 'vault path for services', 'hashicorp'] },
  { key: 'customer-vip', content: 'ACME Corp is the largest customer; their support tickets get a 4 hour response target.', queries: ['largest customer', 'support response target acme', 'vip customer tickets'] },
  { key: 'style-docs', type: 'user_preferences', content: 'Documentation should include a runnable example at the top of every page.', queries: ['documentation style preference', 'runnable example in docs', 'documetation example'] },
  { key: 'holiday', content: 'The user is on holiday from 2 to 16 August; do not schedule reviews then.', queries: ['when is the user on vacation', 'holiday august', 'schedule reviews availability'] },
  { key: 'gpu-server', content: 'The shared GPU server gpu-01 has four A100 cards; book time slots in the team calendar.', queries: ['gpu server booking', 'how many A100', 'gpu-01'] },
  { key: 'naming', type: 'decision', content: 'Database tables use snake_case plural names; columns are snake_case singular.', queries: ['table naming convention', 'snake case columns', 'database naming'] },
  { key: 'perf-budget', content: 'The web bundle must stay under 170 KB gzipped for the main route.', queries: ['javascript bundle size limit', 'gzipped bundle budget', 'bundle 170'] },
  { key: 'mentor', content: 'The user mentors two junior developers, Tom and Aisha, with a one-to-one every Friday.', queries: ['who does the user mentor', 'friday one to one', 'junior developers'] },
];

/** (query, key of the memory that must be in the top 10) pairs. */
export function relevancePairs(): { query: string; key: string }[] {
  return NEEDLES.flatMap((n) => n.queries.map((query) => ({ query, key: n.key })));
}

/** A note for the combined search's relevance cases (written with a note write). */
export interface NoteNeedle {
  title: string;
  tags: string[];
  content: string;
}

// Notes an assistant would keep beside the memories above: longer texts on one subject, which
// mention some of the memories' words in passing.
export const NOTE_NEEDLES: NoteNeedle[] = [
  {
    title: 'Certificate rotation runbook',
    tags: ['ops', 'tls'],
    content: `TLS certificates for shop.example.com and api.example.com expire every 90 days.

- certbot renews them automatically on the ingress host; \`certbot certificates\` lists the expiry dates.
- For the internal CA (service-to-service mTLS), run \`make rotate-internal-ca\` in the infra repository: it issues new leaf certificates and rolls the pods one by one.
- After a rotation, check with \`openssl s_client -connect api.example.com:443\` that the new chain is served.

Ask Priya from the infrastructure team before touching the internal CA.`,
  },
  {
    title: 'Disaster recovery plan',
    tags: ['ops'],
    content: `If the primary region fails, service is restored in the secondary region, in this order:

1. Declare the incident in the #ops channel and name an incident lead.
2. Restore the customer database from the latest nightly backup in the cold storage bucket; check the retention window first, older snapshots are pruned.
3. Point DNS at the secondary load balancer (TTL 60 seconds).
4. Re-run the smoke tests and announce the recovery.

Targets: recovery point objective 24 hours, recovery time objective 4 hours. The plan is rehearsed twice a year; the last drill took 3 h 10 min.`,
  },
  {
    title: 'Release process',
    tags: ['process'],
    content: `Releases go out on Tuesdays and Thursdays. The release manager:

1. Freezes the main branch at 10:00 and tags a release candidate.
2. Runs the end-to-end suite against staging; a flaky test is retried once, then investigated.
3. Signs off the release checklist with the product owner.
4. Deploys with the blue/green switch and watches error rates for 30 minutes.

New features ship dark: every new page or endpoint (the new search page, for one) starts behind a feature flag, and the flag is removed two releases after it reaches all users. Hotfixes skip the freeze but still need the checklist.`,
  },
  {
    title: 'Database migration guide',
    tags: ['backend'],
    content: `Schema changes go through migration files in db/migrations, one file per change, never edited after merge.

- Write the migration and its rollback; run both locally against a copy of production data.
- Apply it to staging first: connect through the bastion (the staging database port is not reachable from laptops) and run \`make migrate ENV=staging\`.
- Watch the slow-query log for a day before applying it to production.
- Large tables (orders, events) need online migrations with pg-online-schema-change; a plain ALTER TABLE locks them.`,
  },
  {
    title: 'Postmortem: checkout outage',
    tags: ['incident'],
    content: `Summary: for 40 minutes on 12 March, 30% of checkout requests failed with HTTP 502.

Root cause: a deploy doubled the API worker count, and the database connection pool (100 connections) was exhausted.

Detection: the error-rate alert fired after 6 minutes; the on-call engineer paged the platform team lead.

Fixes: the pool size now scales with the workers, PgBouncer sits in front of the primary, and the release checklist has a load test. Lesson: alert on connection pool saturation, not only on error rates.`,
  },
  {
    title: 'Python style guide',
    tags: ['style'],
    content: `Python code is formatted with Black (line length 100) and linted with Ruff; CI fails on either.

- Indentation follows Black: 4 spaces.
- Type hints on every public function; mypy runs in strict mode on new modules.
- Tests use pytest with fixtures, no unittest classes.
- Imports: standard library, third party, ours, each group sorted.`,
  },
];

/** A combined-search case: the query, and what must rank first (a memory key or a note title). */
export interface CombinedCase {
  query: string;
  first: { kind: 'memory' | 'note'; title: string };
}

// Half of the queries are best answered by a note and half by a memory; in each, the other kind
// matches some or all of the words too.
export const COMBINED_CASES: CombinedCase[] = [
  { query: 'rotate tls certificates', first: { kind: 'note', title: 'Certificate rotation runbook' } },
  { query: 'disaster recovery steps for the customer database', first: { kind: 'note', title: 'Disaster recovery plan' } },
  { query: 'release manager freeze', first: { kind: 'note', title: 'Release process' } },
  { query: 'how to run database migrations', first: { kind: 'note', title: 'Database migration guide' } },
  { query: 'checkout outage root cause', first: { kind: 'note', title: 'Postmortem: checkout outage' } },
  { query: 'python formatting line length', first: { kind: 'note', title: 'Python style guide' } },
  { query: 'when do nightly backups run', first: { kind: 'memory', title: 'backup-schedule' } },
  { query: 'search page feature flag', first: { kind: 'memory', title: 'feature-flag' } },
  { query: 'staging database port', first: { kind: 'memory', title: 'staging-db' } },
  { query: 'indent python spaces', first: { kind: 'memory', title: 'pref-indent' } },
  { query: 'deployments tuesdays thursdays', first: { kind: 'memory', title: 'deploy-process' } },
  { query: 'on call rotation escalation', first: { kind: 'memory', title: 'oncall' } },
];

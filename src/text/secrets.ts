// Credential detection for everything brain stores. What brain keeps is read back into later
// conversations (and notes sit in files), so a pasted key would leak far beyond the moment it was
// shared; every area asks findSecret before it writes free text, and refuses unless the caller
// says storing it is intended (allow_secrets, see src/core/secrets.ts).
//
// Provider token formats come from secretlint's recommended preset (maintained upstream; its rules
// are called directly through their rule API, without secretlint's engine, which costs ~300 µs a
// call); secret-rules.ts adds rules that need the words around a value ("password:", "Bearer",
// "AccountKey=") with entropy and shape checks, and a few formats the preset lacks. Text is
// normalised first so that a zero-width space or full-width letters cannot hide a token.
//
// Cost: most text is ruled out by one pass over its characters (a long token?) and one keyword
// search; the rules run only on text that has one, ~4-6 µs for a remember-sized text and 3.5-7 ms
// for a 200 KB note (`npm run bench -- --only memory` prints the figures). Loading the preset
// adds ~25-40 ms to start-up.
import { rules as presetRules } from '@secretlint/secretlint-rule-preset-recommend';
import { CONTEXT_RULES, TOKEN_RULES, type SecretRule } from './secret-rules.js';
import { isPlaceholder } from './secret-shape.js';

/**
 * Characters that render as nothing: soft hyphen, combining grapheme joiner, Arabic letter mark,
 * Mongolian vowel separator, zero-width space/joiners, direction marks and embeddings, word joiner
 * and invisible operators, direction isolates, variation selectors, byte-order mark, tag characters.
 */
const INVISIBLE = /[\u00ad\u034f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufe00-\ufe0f\ufeff\u{e0000}-\u{e007f}]/gu;
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Characters NFKC turns into ASCII letters, digits or punctuation: full-width forms, mathematical
 * alphanumerics, enclosed and circled letters, super- and subscripts, letter-like symbols,
 * ligatures, small forms (spaces are left alone: they separate tokens either way). Only these are
 * put through NFKC: the whole of a 200 KB note costs ~1.5 ms, and NFKC of these characters one by
 * one is what it would do to them.
 */
const FOLDABLE = /[\u00b2\u00b3\u00b9\u2070-\u209f\u2100-\u214f\u2460-\u24ff\u3000\ufb00-\ufb06\ufe50-\ufe6b\uff01-\uff5e\u{1d400}-\u{1d7ff}\u{1f100}-\u{1f1ff}]/gu;

/** The text as a reader sees it: invisible characters removed, then NFKC (full-width `ｇｈｐ＿` is `ghp_`). */
export function normalizeForScan(text: string): string {
  if (!NON_ASCII.test(text)) return text;
  INVISIBLE.lastIndex = 0;
  const visible = INVISIBLE.test(text) ? text.replace(INVISIBLE, '') : text;
  return visible.replace(FOLDABLE, (ch) => ch.normalize('NFKC'));
}

// secretlint's rule API, as far as brain uses it (the package ships no types of its own for it).
interface RuleReport {
  message: { messageId: string };
  range: [number, number];
}
interface RuleContext {
  sharedOptions: Record<string, never>;
  createTranslator: (messages: unknown) => (messageId: string, data?: unknown) => { message: string; messageId: string };
  report: (report: RuleReport) => void;
  ignore: () => void;
}
interface RuleSource {
  content: string;
  filePath: string;
  ext: string;
  contentType: 'text';
}
interface PresetRule {
  meta: { id: string };
  create: (context: RuleContext, options: Record<string, unknown>) => { file?: (source: RuleSource) => unknown };
}

/** What each preset rule finds, by the last part of its id; a rule added upstream falls back to its id. */
const PRESET_KINDS: Record<string, string> = {
  aws: 'an AWS credential',
  gcp: 'a Google Cloud service account key',
  privatekey: 'a private key',
  npm: 'an npm token',
  basicauth: 'credentials in a URL',
  slack: 'a Slack token',
  openai: 'an OpenAI API key',
  anthropic: 'an Anthropic API key',
  groq: 'a Groq API key',
  huggingface: 'a Hugging Face token',
  linear: 'a Linear API key',
  notion: 'a Notion token',
  sendgrid: 'a SendGrid API key',
  shopify: 'a Shopify token',
  github: 'a GitHub token',
  gitlab: 'a GitLab token',
  grafana: 'a Grafana token',
  '1password': 'a 1Password service account token',
  'database-connection-string': 'a database connection string with a password',
  'hashicorp-vault': 'a HashiCorp Vault token',
  vercel: 'a Vercel token',
  databricks: 'a Databricks token',
  docker: 'a Docker access token',
  figma: 'a Figma token',
};
const PRESET_MESSAGE_KINDS: Record<string, string> = {
  AWSAccessKeyID: 'an AWS access key id',
  AWSSecretAccessKey: 'an AWS secret access key',
};
/** Not credentials: an AWS account id identifies, it does not authenticate. */
const IGNORED_MESSAGES = new Set(['AWSAccountID']);
/** secretlint-disable comments are not honoured: brain's opt-out is allow_secrets. */
const SKIPPED_RULES = new Set(['@secretlint/secretlint-rule-filter-comments']);
/** Options per rule (none today: access key ids are a rule of brain's, see secret-rules.ts). */
const PRESET_OPTIONS: Record<string, Record<string, unknown>> = {};

/** One scan's reports; the rules are created once and report into whichever scan is running. */
let reports: { rule: string; messageId: string; range: [number, number] }[] = [];

const presetScanners = (presetRules as unknown as PresetRule[])
  .filter((rule) => !SKIPPED_RULES.has(rule.meta.id))
  .map((rule) => {
    const context: RuleContext = {
      sharedOptions: {},
      createTranslator: () => (messageId) => ({ message: messageId, messageId }),
      report: (r) => reports.push({ rule: rule.meta.id, messageId: r.message.messageId, range: r.range }),
      ignore: () => {},
    };
    return { id: rule.meta.id, file: rule.create(context, PRESET_OPTIONS[rule.meta.id] ?? {}).file };
  });

function kindOfPreset(rule: string, messageId: string): string {
  const short = rule.replace(/^@secretlint\/secretlint-rule-/, '');
  return PRESET_MESSAGE_KINDS[messageId] ?? PRESET_KINDS[short] ?? `a credential (secretlint rule ${short})`;
}

/** A URL's password that only stands for one (`user:password@`, `:${PW}@`), which the preset reports. */
function urlPlaceholder(found: string): boolean {
  const m = /:\/\/[^\s/:@]*:([^\s/@]*)@/.exec(found);
  return m !== null && isPlaceholder(m[1]);
}

function scanPreset(text: string): string | undefined {
  reports = [];
  const source: RuleSource = { content: text, filePath: '', ext: '', contentType: 'text' };
  for (const scanner of presetScanners) {
    // The rules brain runs are synchronous; one that is not would report after the verdict.
    if (scanner.file?.(source) instanceof Promise) throw new Error(`secretlint rule ${scanner.id} is asynchronous; brain's secret check needs synchronous rules`);
  }
  const found = reports.find((r) => !IGNORED_MESSAGES.has(r.messageId) && !urlPlaceholder(text.slice(r.range[0], r.range[1])));
  reports = [];
  return found && kindOfPreset(found.rule, found.messageId);
}

/**
 * Whether the text holds what every token format (the preset's and FORMATS) needs: a URL, a PEM
 * header, or a run of 16+ token characters that mixes letters and digits or changes case often
 * (Hugging Face tokens are letters only, and a random 20-character base62 token has no digit one
 * time in 30). Prose has none, and neither have most long names in
 * technical text (`--organizational-unit`, `SSL_CTX_set_options`): of 101,000 paragraphs of man
 * pages, a plain 16-character run lets 43% through, this test 9%.
 */
function hasToken(text: string): boolean {
  if (text.includes('://') || text.includes('-----BEGIN')) return true;
  // One pass over the characters: a regular expression for "a run of 16+" restarts at every
  // character of a shorter run and cost 4-5 µs on a 250-character paragraph; this costs under 1.
  let length = 0;
  let digits = false;
  let letters = false;
  let humps = 0;
  let lastLower = false;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0;
    const lower = c >= 97 && c <= 122;
    const upper = c >= 65 && c <= 90;
    const digit = c >= 48 && c <= 57;
    if (lower || upper || digit || c === 95 || c === 43 || c === 47 || c === 61 || c === 45) {
      length++;
      digits ||= digit;
      letters ||= lower || upper;
      if (upper && lastLower) humps++;
      lastLower = lower;
      continue;
    }
    if (length >= 16 && ((digits && letters) || humps >= 3)) return true;
    length = 0;
    digits = letters = lastLower = false;
    humps = 0;
  }
  return false;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** One alternation of literals, longest first, so that `sk-ant-` is found where `sk-` also is. */
const alternation = (words: string[]) => [...new Set(words)].sort((a, b) => b.length - a.length).map(escape).join('|');

/**
 * Any context rule's keyword. Only these (30) are looked for in every text: their alternation
 * costs about half as much on prose as one of all 72 keywords, token prefixes included.
 * Context rules' patterns start at their keyword, so once one is present they all just run.
 */
const KEYWORD_GATE = new RegExp(alternation(CONTEXT_RULES.flatMap((r) => r.keywords)), 'i');
/**
 * The token rules' keywords, found in one pass once a text holds a token: per-rule `includes`
 * read a 200 KB note ~60 times over (~10 ms).
 */
const TOKEN_KEYWORDS = new RegExp(alternation(TOKEN_RULES.flatMap((r) => r.keywords)), 'gi');

function tokenRulesFor(text: string): SecretRule[] {
  const found = new Set<string>();
  for (const m of text.matchAll(TOKEN_KEYWORDS)) found.add(m[0].toLowerCase());
  const present = [...found];
  return TOKEN_RULES.filter((rule) => rule.keywords.length === 0 || rule.keywords.some((k) => present.some((f) => f.includes(k))));
}

function matches(rule: SecretRule, text: string): boolean {
  rule.pattern.lastIndex = 0;
  for (let m = rule.pattern.exec(text); m !== null; m = rule.pattern.exec(text)) {
    if (!rule.check || rule.check(m[1] ?? m[0], m, text)) {
      rule.pattern.lastIndex = 0;
      return true;
    }
    // The next match may start inside this one: `KeyName=RootKey;SharedAccessKey=<the secret>`.
    rule.pattern.lastIndex = m.index + 1;
  }
  return false;
}

/** A PEM block's last line, which holds no token but which the preset's private-key rule needs. */
const PEM_END = '-----END';

/**
 * The lines of a long text that can hold a token match: those with a token (hasToken) and PEM
 * end lines. The preset and the token rules read only these: every token format fits on a line
 * (a PEM block is its lines), and on a 200 KB note the preset alone costs ~3-6 ms over all of it.
 */
function tokenLines(text: string): string {
  if (text.length < 4096) return text;
  return text
    .split('\n')
    .filter((line) => hasToken(line) || line.includes(PEM_END))
    .join('\n');
}

/** The kind of credential the text seems to contain ("a GitHub token"), or undefined. Never the value. */
export function findSecret(raw: string): string | undefined {
  const text = normalizeForScan(raw);
  const tokens = hasToken(text);
  const keywords = KEYWORD_GATE.test(text);
  if (!tokens && !keywords) return undefined;
  if (tokens) {
    const candidates = tokenLines(text);
    const kind = scanPreset(candidates);
    if (kind) return kind;
    for (const rule of tokenRulesFor(candidates)) if (matches(rule, candidates)) return rule.kind;
  }
  if (keywords) {
    for (const rule of CONTEXT_RULES) if (matches(rule, text)) return rule.kind;
  }
  return undefined;
}

/** findSecret over any stored value: strings as they are, anything else as its JSON (names included). */
export function findSecretIn(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return findSecret(typeof value === 'string' ? value : JSON.stringify(value));
}

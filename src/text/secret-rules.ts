// brain's own secret rules, beside secretlint's maintained provider rules (secrets.ts). Two kinds:
// context rules, which find a value after words that announce a secret ("password:", "api_key=",
// "Bearer", "AccountKey=", "user:pw@tcp(") and then judge the value's shape (secret-shape.ts), the
// way gitleaks' generic-api-key and detect-secrets' keyword plugin do; and token formats that
// secretlint's preset does not have. Each rule runs only when one of its keywords is in the text.
import { isPlaceholder, looksLikePassword, looksRandom } from './secret-shape.js';

export interface SecretRule {
  id: string;
  /** What was found, for the refusal: "a Stripe key". Never the value. */
  kind: string;
  /**
   * Lower-case strings; the rule runs only when the lower-cased text contains one. A rule in
   * TOKEN_RULES runs only when the text also holds a token (hasToken in secrets.ts), and with no
   * keywords whenever it does.
   */
  keywords: string[];
  /** Global. The value judged is group 1 when there is one, else the whole match. */
  pattern: RegExp;
  /** Whether a match is a secret (default: every match is). */
  check?: (value: string, match: RegExpExecArray, text: string) => boolean;
}

/** The last word of a name: `aws_secret_access_key` -> [..., access, key], `AccountKey` -> [account, key]. */
function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

const PASSWORD_NOUNS = new Set(['password', 'passwd', 'pwd', 'passphrase', 'passcode', 'pass', 'pw']);
/** Not `signature` or `sig`: a webhook signature or a hash is computed from a secret, not one. */
const SECRET_NOUNS = new Set(['secret', 'token', 'apikey', 'credential', 'credentials', 'auth']);
/** What may stand before "key" for the key to be a secret: `api_key`, `AccountKey`, not `sort_key`. */
const KEY_QUALIFIERS = new Set([
  'api', 'access', 'secret', 'private', 'account', 'signing', 'encryption', 'master', 'client', 'app', 'auth',
  'subscription', 'license', 'shared', 'sas', 'service', 'storage', 'webhook', 'consumer', 'admin', 'bot', 'hmac', 'session',
]);

/** How a name's value must look to be a secret: chosen like a password, random like a token, or not at all. */
function nameClass(name: string): 'password' | 'token' | undefined {
  const words = nameWords(name);
  const last = words[words.length - 1];
  if (last === undefined) return undefined;
  // `pass` alone is too often a test result ("pass: 100%"); `db_pass` is a password.
  if (PASSWORD_NOUNS.has(last)) return last === 'pass' && words.length === 1 ? undefined : 'password';
  if (SECRET_NOUNS.has(last)) return 'token';
  if (last === 'key' && words.length > 1 && KEY_QUALIFIERS.has(words[words.length - 2])) return 'token';
  return undefined;
}

/** A value with its trailing punctuation (end of a sentence, a list, a call) removed. */
const trimValue = (value: string) => value.replace(/[.,;:!?)\]}>]+$/, '');

/** The name a keyword match sits at the end of: `aws_secret_access_` + `key` -> `aws_secret_access_key`. */
function nameAt(text: string, start: number, matched: string): string {
  let i = start;
  while (i > 0 && start - i < 60 && /[\w.-]/.test(text[i - 1])) i--;
  return text.slice(i, start) + matched;
}

/**
 * `password: hunter2`, `DB_PASSWORD=...`, `"api_key": "..."`, `AccountKey=...;`, `--password=...`,
 * `x-api-key: ...`. The name ends in a word that announces a secret (nameClass); the value after
 * `:`, `=`, `=>` or `:=` (quoted or not) must then look like one. The pattern starts at the
 * keyword (a literal the regex engine finds fast) and the name is read back from there.
 */
const ASSIGNMENT: SecretRule = {
  id: 'assignment',
  kind: 'a password or secret assignment',
  keywords: ['pass', 'pwd', 'pw', 'secret', 'token', 'key', 'credential', 'auth'],
  pattern: /(pass(?:word|wd|phrase|code)?|pwd|pw|secret|token|key|credentials?|auth)([\w-]{0,30})["']?\s*(?:=>|:=|[:=])\s*["'`]?([^\s"'`<>]{1,512})/gi,
  check(_value, m, text) {
    const cls = nameClass(nameAt(text, m.index, m[1] + m[2]));
    // A connection or query string goes on with `;Server=...` or `&user=...`: that is not the value.
    const value = trimValue(m[3].replace(/[;&,][A-Za-z_ ]*=.*$/, ''));
    if (cls === 'password') return looksLikePassword(value);
    if (cls === 'token') return looksRandom(value, 16);
    return false;
  },
};

/** "my bank password is Tr0ub4dor&3", "the password for the staging db was hunter22". */
const PASSWORD_IN_PROSE: SecretRule = {
  id: 'password-prose',
  kind: 'a password',
  keywords: ['pass', 'pin'],
  pattern: /\b(?:password|passwd|passphrase|passcode|pin)(?:\s+(?:for|to|of|on)\s+[^\s.,;:]+(?:\s+[^\s.,;:]+){0,3}?)?\s+(?:is|was|are|=|:)\s+["'“‘]?([^\s"'”’]+)/gi,
  check: (value) => looksLikePassword(trimValue(value)),
};

/** `--password hunter2`, `--token 3f9a...`: a command line with the secret as the next argument. */
const PASSWORD_FLAG: SecretRule = {
  id: 'flag',
  kind: 'a password on a command line',
  keywords: ['--pass', '--token', '--secret', '--api-key', '--apikey'],
  pattern: /(?:^|\s)--(pass(?:word)?|token|secret|api-?key)\s+["']?([^\s"'-][^\s"']*)/gi,
  check: (_value, m) => (m[1].toLowerCase().startsWith('pass') ? looksLikePassword(trimValue(m[2])) : looksRandom(trimValue(m[2]), 12)),
};

/** `Authorization: Bearer <opaque token>`; a JWT after Bearer is found by its own rule too. */
const BEARER: SecretRule = {
  id: 'bearer',
  kind: 'a bearer token',
  keywords: ['bearer'],
  pattern: /\bbearer\s+([A-Za-z0-9._~+/-]{16,}=*)/gi,
  check: (value) => looksRandom(value, 16) || /^eyJ[\w-]{10,}\.[\w-]{10,}\.[\w-]{10,}/.test(value),
};

/** `Authorization: Basic dXNlcjpwYXNz`: base64 of user:password. */
const BASIC_AUTH: SecretRule = {
  id: 'basic-auth',
  kind: 'a basic-auth header',
  keywords: ['basic'],
  pattern: /\bbasic\s+([A-Za-z0-9+/]{8,}={0,2})(?![\w+/=])/gi,
  check(value) {
    const decoded = Buffer.from(value, 'base64').toString('latin1');
    const m = /^([\x21-\x7e]{1,128}):([\x21-\x7e]{1,256})$/.exec(decoded);
    return m !== null && !isPlaceholder(m[2]);
  },
};

/** Credentials in a URL: `postgres://app:s3cr3t@db/app`, but not `user:password@` or `:${PW}@`. */
const URL_CREDENTIALS: SecretRule = {
  id: 'url-credentials',
  kind: 'credentials in a URL',
  keywords: ['://'],
  // Starts at "://" and checks the scheme behind it in code: a pattern starting with the scheme
  // (or a lookbehind for it) is tried at every character, ~5 ms on a 200 KB note.
  pattern: /:\/\/[^\s/:@]{1,128}:([^\s/@]{3,256})@[\w.[-]/g,
  check: (value, m, text) => /\b[a-z][a-z0-9+.-]{1,20}$/i.test(text.slice(Math.max(0, m.index - 21), m.index)) && !isPlaceholder(value),
};

/** A Go MySQL DSN: `user:pw@tcp(host:3306)/db` (no scheme, so URL_CREDENTIALS cannot see it). */
const GO_DSN: SecretRule = {
  id: 'dsn',
  kind: 'a database DSN with a password',
  keywords: ['@tcp(', '@unix(', '@udp('],
  // Starts at "@tcp(" and reads `user:password` back from there (as URL_CREDENTIALS does).
  pattern: /@(?:tcp|unix|udp)6?\(/gi,
  check(_value, m, text) {
    const before = /[\w.-]:([^\s:@/()"'`]{3,128})$/.exec(text.slice(Math.max(0, m.index - 130), m.index));
    return before !== null && !isPlaceholder(before[1]);
  },
};

/** Azure storage/service bus connection strings and SAS tokens. */
const AZURE_SAS: SecretRule = {
  id: 'azure-sas',
  kind: 'an Azure shared access signature',
  keywords: ['sig='],
  pattern: /[?&;]sig=([A-Za-z0-9%+/]{30,}(?:%3D|=){0,2})/gi,
};

/**
 * `-----BEGIN ... PRIVATE KEY-----` and, on the next line, key material (even a truncated start).
 * A header alone, or followed by "..." in documentation, is a mention.
 */
const PRIVATE_KEY: SecretRule = {
  id: 'private-key',
  kind: 'a private key',
  keywords: ['private key'],
  pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[ \t]*(?:\\r?\\n|\r?\n)[ \t]*(?:[\w-]+: [^\n]*\n)*[A-Za-z0-9+/]{3}/g,
};

const token = (id: string, kind: string, keywords: string[], pattern: RegExp, check?: SecretRule['check']): SecretRule => ({ id, kind, keywords, pattern, check });

/** Token formats that secretlint's recommended preset lacks (or matches only in their newest form). */
const FORMATS: SecretRule[] = [
  token('stripe', 'a Stripe key', ['sk_live_', 'rk_live_', 'sk_test_', 'rk_test_', 'whsec_'], /\b(?:[sr]k_(?:live|test)_[A-Za-z0-9]{20,}|whsec_[A-Za-z0-9+/]{32,})/g),
  token('google-api-key', 'a Google API key', ['aiza'], /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g),
  token('google-oauth-secret', 'a Google OAuth client secret', ['gocspx-'], /\bGOCSPX-[A-Za-z0-9_-]{28}(?![A-Za-z0-9_-])/g),
  // secretlint's rule takes no '-' in the first part and one in the second; keys are base64url.
  token('sendgrid', 'a SendGrid API key', ['sg.'], /\bSG\.[\w-]{22}\.[\w-]{43}(?![\w-])/g),
  token('jwt', 'a JSON Web Token', ['eyj'], /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{16,}/g),
  token('pypi', 'a PyPI token', ['pypi-'], /\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}/g),
  token('twilio', 'a Twilio API key', [], /\bSK[0-9a-f]{32}\b/g),
  token('telegram', 'a Telegram bot token', [':aa'], /\b\d{8,10}:AA[A-Za-z0-9_-]{33}(?![A-Za-z0-9_-])/g),
  token('discord', 'a Discord bot token', [], /\b[MNO][A-Za-z\d_-]{23,25}\.[A-Za-z\d_-]{6}\.[A-Za-z\d_-]{27,38}\b/g, (v) => looksRandom(v.split('.')[0], 20)),
  token('discord-webhook', 'a Discord webhook URL', ['discord'], /discord(?:app)?\.com\/api\/webhooks\/\d+\/[\w-]{60,}/gi),
  token('digitalocean', 'a DigitalOcean token', ['_v1_'], /\bdo[por]_v1_[a-f0-9]{64}\b/g),
  token('mailgun', 'a Mailgun API key', ['key-'], /\bkey-[0-9a-f]{32}\b/g),
  token('mailchimp', 'a Mailchimp API key', ['-us'], /-us\d{1,2}\b/g, (_v, m, text) => /\b[0-9a-f]{32}$/.test(text.slice(Math.max(0, m.index - 33), m.index))),
  token('square', 'a Square token', ['sq0'], /\bsq0(?:atp|csp)-[A-Za-z0-9_-]{22,43}\b/g),
  token('atlassian', 'an Atlassian API token', ['atatt3'], /\bATATT3[A-Za-z0-9_=-]{150,}/g),
  token('heroku', 'a Heroku API key', ['hrku-'], /\bHRKU-[A-Za-z0-9_-]{20,}/g),
  token('postman', 'a Postman API key', ['pmak-'], /\bPMAK-[a-f0-9]{24}-[a-f0-9]{34}\b/g),
  token('age', 'an age secret key', ['age-secret-key-'], /\bAGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}\b/g),
  token('doppler', 'a Doppler token', ['dp.'], /\bdp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}\b/g),
  token('sentry', 'a Sentry token', ['sntr'], /\bsntr[ysu]_[A-Za-z0-9+/=_-]{30,}/g),
  token('supabase', 'a Supabase token', ['sbp_'], /\bsbp_[a-f0-9]{40}\b/g),
  token('gitlab', 'a GitLab token', ['glrt-', 'glptt-', 'gldt-', 'glcbt-', 'glft-', 'glsoat-', 'glagent-', 'glimt-'], /\bgl(?:rt|ptt|dt|cbt|ft|soat|agent|imt)-[A-Za-z0-9_-]{20,}/g),
  token('github', 'a GitHub token', ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'github_pat_'], /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})/g),
  token('huggingface', 'a Hugging Face token', ['hf_'], /\bhf_[A-Za-z0-9]{34,}\b/g, (v) => looksRandom(v.slice(3), 30)),
  token('anthropic', 'an Anthropic API key', ['sk-ant-'], /\bsk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{20,}/g),
  // OpenAI and the many services that copied its `sk-` keys; the rest must be random, which
  // leaves names such as sk-learn-compatible-estimator alone.
  token('sk-key', 'an API key', ['sk-'], /sk-(?:[a-z]{2,8}-)?([A-Za-z0-9_-]{32,})/g, (v, m, text) => !/[A-Za-z0-9]/.test(text[m.index - 1] ?? '') && looksRandom(v, 32)),
];

/**
 * Formats that a token gate would miss: AWS access key ids are base32 and one in 28 has no digit;
 * Azure AD secrets are cut into short runs by '~' and '.'. Their literals are rare in prose.
 * (secretlint has access key ids behind an option that also reports account ids, which are not
 * secret.)
 */
const UNGATED_FORMATS: SecretRule[] = [
  token('aws-access-key-id', 'an AWS access key id', ['akia', 'asia', 'a3t', 'agpa', 'aida', 'aroa', 'aipa', 'anpa', 'anva'], /\b(?:A3T[A-Z0-9]|AKIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ASIA)[A-Z0-9]{16}\b/g, (v) => !v.endsWith('EXAMPLE')),
  token('azure-ad-secret', 'an Azure AD client secret', ['q~'], /(?<![\w~.-])[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?![\w~.-])/g),
];

/** Rules found by the words around a value: run when the text contains one of their keywords. */
export const CONTEXT_RULES: SecretRule[] = [ASSIGNMENT, PASSWORD_IN_PROSE, PASSWORD_FLAG, BEARER, BASIC_AUTH, GO_DSN, AZURE_SAS, ...UNGATED_FORMATS];
/** Rules whose every match holds a URL, a PEM header or a long token: run only on text with one. */
export const TOKEN_RULES: SecretRule[] = [URL_CREDENTIALS, PRIVATE_KEY, ...FORMATS];

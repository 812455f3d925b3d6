// Credential detection. A memory is read back into every future conversation, so a pasted API key
// would leak far beyond the moment it was shared. Content that looks like a secret is refused
// unless the caller says it is intended (allow_secrets).

interface SecretPattern {
  name: string;
  pattern: RegExp;
  /** A match that is not a secret after all (e.g. an UPPER_CASE placeholder). */
  ignore?: (match: string) => boolean;
}

const PATTERNS: SecretPattern[] = [
  { name: 'a private key', pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/ },
  { name: 'an AWS access key id', pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { name: 'a GitHub token', pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b/ },
  { name: 'a GitLab token', pattern: /\bglpat-[A-Za-z0-9_-]{20,}\b/ },
  { name: 'a Slack token', pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/ },
  { name: 'an Anthropic API key', pattern: /\bsk-ant-[A-Za-z0-9_-]{20,}/ },
  { name: 'an OpenAI-style API key', pattern: /\bsk-(?:proj-|live-)?[A-Za-z0-9_-]{32,}/ },
  { name: 'a Stripe key', pattern: /\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}\b/ },
  { name: 'a Google API key', pattern: /\bAIza[0-9A-Za-z_-]{35}\b/ },
  { name: 'a JSON Web Token', pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/ },
  {
    name: 'a password or secret assignment',
    // The value must look like a real secret (letters and digits, no path or <placeholder>), so
    // documentation such as `--password=PASSWORD` or `secret: projects/x/secrets/y` is not refused.
    pattern: /\b(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token|client[_-]?secret)\s*[:=]\s*["']?(?=[^\s"'/<>]*\d)(?=[^\s"'/<>]*[a-z])[^\s"'/<>]{8,}(?=["'\s,;\]]|$)/i,
    ignore: (match) => {
      const value = match.replace(/^[^:=]*[:=]\s*["']?/, '');
      return value === value.toUpperCase();
    },
  },
  { name: 'credentials in a URL', pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:[^\s/@]{4,}@/i },
];

/** The kind of credential the text seems to contain, or undefined. */
export function findSecret(text: string): string | undefined {
  for (const { name, pattern, ignore } of PATTERNS) {
    if (!ignore) {
      if (pattern.test(text)) return name;
      continue;
    }
    // Every match is checked: a placeholder first must not hide a real secret later on.
    for (const match of text.matchAll(new RegExp(pattern.source, pattern.flags + 'g'))) if (!ignore(match[0])) return name;
  }
  return undefined;
}

// What a value looks like, for the secret detector: random like a generated token, chosen like a
// password, or a stand-in (a placeholder, a variable, a reference in code). Words around a value
// ("password:", "api_key=") only say that a secret may follow; these tests decide whether one did,
// so "secret: db-credentials-v2" (a name) and "password: <your password>" (documentation) pass.

/** Shannon entropy in bits per character. Random base64 scores ~4.5-5.5 at 40 characters, hex ~3.7. */
export function entropy(text: string): number {
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / text.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/** Words documentation puts where a secret would go, and field types of schemas. */
const STAND_IN_WORDS = new Set([
  'password', 'passwd', 'pass', 'pwd', 'passphrase', 'secret', 'token', 'apikey', 'key', 'value',
  'redacted', 'hidden', 'masked', 'removed', 'omitted', 'censored', 'none', 'null', 'nil', 'undefined', 'empty',
  'true', 'false', 'yes', 'no', 'required', 'optional', 'string', 'str', 'text', 'bytes', 'int', 'number',
  'changeme', 'example', 'sample', 'placeholder', 'dummy', 'test', 'foo', 'bar', 'baz', 'abc', 'xyz',
]);

/**
 * A value that stands for a secret instead of being one: `<your key>`, `${DB_PASSWORD}`, `$TOKEN`,
 * `%PASSWORD%`, `{{ secrets.X }}`, `[REDACTED]`, `****`, `xxxx`, `YOUR_API_KEY`, AWS's documented
 * `...EXAMPLE` keys, or a word from STAND_IN_WORDS.
 */
export function isPlaceholder(value: string): boolean {
  // Templates and variables: ${X}, $(cmd), {{ x }}, {% x %}, <x>, [X], $X, %X%, ...{x}.
  if (/^(?:\$\{|\$\(|\{\{|\{%|<|\[)|[>}\]]$/.test(value) || /^\$[A-Za-z_]\w*$/.test(value) || /^%[\w.]+%$/.test(value)) return true;
  if (/(?:x{4,}|\*{3,}|\.{3,}|…|•{3,})/i.test(value)) return true;
  const lower = value.toLowerCase();
  if (/example|placeholder|redacted|changeme|dummy|here$|^your[-_]|^my[-_]|^some[-_]|^insert[-_]|^replace[-_]|^enter[-_]/.test(lower)) return true;
  // An upper-case name (YOUR_API_KEY, DB_PASSWORD, PASSWORD1): an environment variable, not its value.
  if (/^[A-Z]+(?:_[A-Z]+)*\d{0,2}$/.test(value)) return true;
  return STAND_IN_WORDS.has(lower.replace(/[^a-z]/g, ''));
}

/**
 * A reference in code or markup (`os.environ`, `settings.DB_PASSWORD`, `getpass(`, `Optional[str]`,
 * `self.token`, Sphinx's `:py:data:`).
 */
export function isCodeReference(value: string): boolean {
  return (
    /^:[\w-]+:/.test(value) ||
    /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+(?:\(.*)?[;,]?$/.test(value) ||
    /^[A-Za-z_$][\w$.]*\(/.test(value) ||
    /^[A-Za-z_][\w.]*\[/.test(value)
  );
}

/**
 * A path or an address, which names where a secret is kept rather than holding it. An absolute
 * path must start with a directory name (`/etc/`, `/run/`, `/Users/`): base64 may start with "/".
 */
function isLocation(value: string): boolean {
  return /^(?:\.{1,2}\/|~\/|\/(?:[a-z]{2,}|Users|Volumes|Library)\/|[A-Za-z][A-Za-z0-9+.-]*:\/\/)/.test(value);
}

/**
 * One part of a name (`db`, `credentials`, `v2`, `MyService`): letters, maybe a short number at
 * the end, and at most two humps of camelCase. Random tokens change case far more often.
 */
function isWordPart(part: string): boolean {
  return /^\d{1,4}$/.test(part) || (/^[A-Za-z]+\d{0,3}$/.test(part) && (part.match(/[a-z][A-Z]/g)?.length ?? 0) <= 2);
}

/**
 * Looks generated: long enough, only the characters tokens are made of (base64, base64url, hex,
 * UUID, JWT), not a stand-in, not a name made of words (`db-credentials-v2`,
 * `projects/x/secrets/y/versions/2`), with at least two of lower case, upper case and digits, and
 * enough entropy. The 3.0 bits/char floor keeps `aaaa1111aaaa1111` out while 16 random hex
 * characters (3.4-3.9 bits/char) stay in.
 */
export function looksRandom(value: string, minLength = 16): boolean {
  if (value.length < minLength || value.length > 1024 || !/^[\w+/=.~-]+$/.test(value)) return false;
  if (isPlaceholder(value) || isCodeReference(value) || isLocation(value)) return false;
  const parts = value.split(/[-_./:+=\s]+/).filter(Boolean);
  if (parts.every(isWordPart)) return false;
  const classes = Number(/[a-z]/.test(value)) + Number(/[A-Z]/.test(value)) + Number(/\d/.test(value));
  return classes >= 2 && entropy(value) >= 3.0;
}

/**
 * Looks chosen as a password: 4 to 200 characters, not a stand-in or a reference, with a digit or
 * a symbol in it ("hunter2", "Tr0ub4dor&3") or random-looking case ("izCBqEsKOLxLu"). Other
 * letters alone are left alone: after "password is" they are far more often an adjective
 * ("required", "incorrect") than a password.
 */
export function looksLikePassword(value: string): boolean {
  if (value.length < 4 || value.length > 200) return false;
  if (isPlaceholder(value) || isCodeReference(value) || isLocation(value)) return false;
  return /\d|[^A-Za-z0-9\-_.]/.test(value) || (value.match(/[a-z][A-Z]/g)?.length ?? 0) >= 3;
}

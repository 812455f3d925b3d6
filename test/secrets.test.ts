// The secret detector (src/text/secrets.ts) on a labelled set: fake credentials of many kinds in
// the contexts people paste them in, generated from a seeded random source in the formats the
// providers use (no real credential is in this file), and look-alikes that must pass (names,
// placeholders, hashes, documentation). Recall and the false-positive rate are printed and held
// to a floor; then each case the detector once got wrong, as its own test.
import { describe, expect, it } from 'vitest';
import { findSecret, findSecretIn, normalizeForScan } from '../src/text/secrets.js';
import { entropy, looksLikePassword, looksRandom } from '../src/text/secret-shape.js';

/** mulberry32: the same "random" values on every run, so a failure can be reproduced. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(20251206);
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const ALNUM = UPPER + LOWER + DIGITS;
const HEX = '0123456789abcdef';
const B64 = ALNUM + '+/';
const B64URL = ALNUM + '-_';
const pick = <T>(xs: readonly T[] | string): T => xs[Math.floor(rand() * xs.length)] as T;
const str = (alphabet: string, n: number) => Array.from({ length: n }, () => pick<string>(alphabet)).join('');
const b64url = (s: string) => Buffer.from(s).toString('base64url');

/** A password as people choose them: a word with digits and a symbol, or random characters. */
function password(): string {
  const words = ['hunter', 'dragon', 'sunshine', 'falcon', 'Tr0ub4dor', 'maple', 'orbit', 'kestrel'];
  return rand() < 0.5 ? `${pick(words)}${str(DIGITS, 2 + Math.floor(rand() * 3))}${pick('!#&*%')}` : str(ALNUM + '!#%&*', 12 + Math.floor(rand() * 8));
}

function jwt(): string {
  const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = b64url(JSON.stringify({ sub: str(DIGITS, 8), name: 'Jane Roe', iat: 1700000000 + Math.floor(rand() * 1e6) }));
  return `${header}.${payload}.${str(B64URL, 43)}`;
}

function pem(kind: string): string {
  const body = Array.from({ length: 4 }, () => str(B64, 64)).join('\n');
  return `-----BEGIN ${kind}PRIVATE KEY-----\nMII${body}\n-----END ${kind}PRIVATE KEY-----`;
}

/** Fake credentials in context, [label, text]; several of each kind with fresh random values. */
function secrets(): [string, string][] {
  const out: [string, string][] = [];
  const add = (label: string, make: () => string, n = 3) => {
    for (let i = 0; i < n; i++) out.push([label, make()]);
  };
  add('aws access key id', () => `aws_access_key_id = AKIA${str(UPPER + '234567', 16)}`);
  add('aws secret key', () => `aws_secret_access_key = ${str(B64, 40)}`);
  add('aws secret key, env', () => `export AWS_SECRET_ACCESS_KEY="${str(B64, 40)}"`, 2);
  add('github classic', () => `token ghp_${str(ALNUM, 36)}`);
  add('github oauth/server', () => `${pick(['gho', 'ghs', 'ghu'])}_${str(ALNUM, 36)}`, 2);
  add('github fine-grained', () => `github_pat_${str(ALNUM, 22)}_${str(ALNUM, 59)}`, 2);
  add('gitlab', () => `glpat-${str(ALNUM + '-_', 20)}`, 2);
  add('slack bot', () => `SLACK_BOT_TOKEN=xoxb-${str(DIGITS, 12)}-${str(DIGITS, 13)}-${str(ALNUM, 24)}`, 2);
  add('slack webhook', () => `https://hooks.slack.com/services/T${str(UPPER + DIGITS, 8)}/B${str(UPPER + DIGITS, 10)}/${str(ALNUM, 24)}`, 2);
  add('stripe', () => `stripe.api_key = "${pick(['sk_live_', 'rk_live_', 'sk_test_'])}${str(ALNUM, 24)}"`, 3);
  add('google api key', () => `AIza${str(ALNUM + '-_', 35)}`, 2);
  add('openai project key', () => `OPENAI_API_KEY=sk-proj-${str(ALNUM + '-_', 74)}T3BlbkFJ${str(ALNUM + '-_', 74)}`, 2);
  add('openai legacy key', () => `sk-${str(ALNUM, 20)}T3BlbkFJ${str(ALNUM, 20)}`, 2);
  add('sk- compatible key', () => `deepseek key sk-${str(HEX, 32)}`, 2);
  add('anthropic', () => `ANTHROPIC_API_KEY=sk-ant-api03-${str(ALNUM + '-_', 93)}AA`, 2);
  add('npm', () => `//registry.npmjs.org/:_authToken=npm_${str(ALNUM, 36)}`, 3);
  add('hugging face', () => `HF_TOKEN=hf_${str(UPPER + LOWER, 34)}`, 3);
  add('sendgrid', () => `SG.${str(ALNUM + '-_', 22)}.${str(ALNUM + '-_', 43)}`, 3);
  add('azure storage', () => `DefaultEndpointsProtocol=https;AccountName=acme${str(LOWER, 4)};AccountKey=${str(B64, 86)}==;EndpointSuffix=core.windows.net`, 3);
  add('azure service bus', () => `Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=${str(B64, 43)}=`, 2);
  add('azure sas', () => `https://acme.blob.core.windows.net/c/f.txt?sv=2022-11-02&ss=b&sp=r&se=2026-01-01&sig=${encodeURIComponent(str(B64, 43) + '=')}`, 2);
  add('azure ad secret', () => `client secret ${str(ALNUM, 3)}${pick(DIGITS)}Q~${str(ALNUM + '_~.-', 34)}`, 2);
  add('bearer opaque', () => `Authorization: Bearer ${str(HEX, 40)}`, 2);
  add('bearer base64url', () => `curl -H "Authorization: Bearer ${str(B64URL, 48)}" https://api.example.com/v1/me`, 2);
  add('bearer jwt', () => `Authorization: Bearer ${jwt()}`, 2);
  add('jwt', () => `session cookie was ${jwt()}`, 2);
  add('basic auth header', () => `Authorization: Basic ${Buffer.from(`deploy:${password()}`).toString('base64')}`, 2);
  add('private key', () => pem(pick(['RSA ', 'EC ', 'OPENSSH ', ''])), 3);
  add('private key in json', () => JSON.stringify({ type: 'service_account', private_key: pem('') }), 1);
  add('password yaml', () => `password: ${password()}`, 3);
  add('password env', () => `${pick(['DB_PASSWORD', 'MYSQL_ROOT_PASSWORD', 'REDIS_PASS', 'SMTP_PASSWORD'])}=${password()}`, 3);
  add('password json', () => JSON.stringify({ user: 'admin', password: password() }), 2);
  add('password, short name', () => `${pick(['pw', 'pwd', 'db_pass', 'passwd'])}: ${password()}`, 2);
  add('password prose', () => `${pick(['my bank password is', 'the wifi password is', 'the password for the staging db is', 'her email password was'])} ${password()}`, 4);
  add('password flag', () => `mysqldump --user=root --password=${password()} shop > dump.sql`, 2);
  add('url credentials', () => `${pick(['postgres', 'mysql', 'amqp', 'redis', 'mongodb+srv'])}://app:${password().replace(/[#%&/@:]/g, 'x')}@db.internal:5432/app`, 4);
  add('go mysql dsn', () => `dsn := "shop:${password().replace(/[#%&/@:()]/g, 'x')}@tcp(db.internal:3306)/shop?parseTime=true"`, 3);
  add('generic api key', () => `${pick(['api_key', 'apiKey', 'X-API-Key', 'client_secret', 'SECRET_KEY', 'access_token'])}: ${str(ALNUM, 32)}`, 4);
  add('uuid api key', () => `HEROKU_API_KEY=${crypto.randomUUID()}`, 1);
  add('twilio', () => `SK${str(HEX, 32)}`, 2);
  add('telegram', () => `bot token ${str(DIGITS, 10)}:AA${str(ALNUM + '-_', 33)}`, 2);
  add('digitalocean', () => `dop_v1_${str(HEX, 64)}`, 2);
  add('mailgun', () => `key-${str(HEX, 32)}`, 2);
  add('pypi', () => `password = pypi-AgEIcHlwaS5vcmc${str(B64URL, 70)}`, 2);
  add('vault', () => `VAULT_TOKEN=hvs.${str(ALNUM + '-_', 95)}`, 2);
  add('databricks', () => `dapi${str(HEX, 32)}`, 2);
  add('linear', () => `lin_api_${str(ALNUM, 40)}`, 2);
  add('notion', () => `ntn_${str(DIGITS, 11)}${str(ALNUM, 35)}`, 2);
  add('shopify', () => `shpat_${str(HEX, 32)}`, 2);
  add('docker', () => `dckr_pat_${str(ALNUM + '-_', 27)}`, 2);
  add('groq', () => `gsk_${str(ALNUM, 52)}`, 2);
  add('doppler', () => `dp.st.${str(ALNUM, 43)}`, 1);
  add('age', () => `AGE-SECRET-KEY-1${str('QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L', 58)}`, 1);
  // Hidden from a naive scan: invisible characters inside, full-width letters, a BOM in front.
  add('github with zero-width space', () => {
    const t = `ghp_${str(ALNUM, 36)}`;
    return t.slice(0, 10) + '\u200b' + t.slice(10);
  }, 2);
  add('github with soft hyphen and bidi marks', () => `ghp_${str(ALNUM, 12)}\u00ad${str(ALNUM, 12)}\u202e${str(ALNUM, 12)}`, 1);
  add('full-width stripe key', () => `ｓｋ＿ｌｉｖｅ＿${str(ALNUM, 24)}`.normalize('NFC'), 1);
  add('bom before password', () => `\ufeffpassword: ${password()}`, 1);
  return out;
}

/** Text that must be stored: it looks like a secret to a careless rule but holds none. */
function lookAlikes(): [string, string][] {
  const fixed = [
    'sk-learn-compatible-estimator-for-gradient-boosting-trees',
    'We wrote an sk-learn-compatible-estimator-wrapper-for-catboost module.',
    'the pod mounts secret: db-credentials-v2',
    'secretName: app-tls-cert-2024',
    'kind: Secret\nmetadata:\n  name: payments-api-keys',
    'valueFrom:\n  secretKeyRef:\n    name: db-secret\n    key: password',
    'password reset link expires after 24 hours',
    'Passwords must be at least 12 characters long.',
    'The password is required.',
    'The password is incorrect, try again.',
    'password: string (required)',
    'password: Optional[str] = None',
    'Reset your password at https://accounts.example.com/reset',
    'the forgot-password flow sends an email',
    'password_min_length: 12',
    'password_hash: bcrypt',
    'use --password=PASSWORD to pass it',
    'password: <your-password>',
    'password: ********',
    'password: "{{ vault_db_password }}"',
    'DB_PASSWORD=${DB_PASSWORD}',
    'set PGPASSWORD=%PGPASSWORD% before running psql',
    'API_KEY=your-api-key-here',
    'api_key: xxxxxxxxxxxxxxxxxxxxxxxx',
    'export OPENAI_API_KEY="sk-..."',
    'token: ${GITHUB_TOKEN}',
    'api_key = os.environ["OPENAI_API_KEY"]',
    'api_key = settings.STRIPE_SECRET_KEY',
    'client_secret = getpass("Client secret: ")',
    'AWS_SECRET_ACCESS_KEY=$AWS_SECRET',
    'Authorization: Bearer <token>',
    'Authorization: Bearer $TOKEN',
    'Bearer token authentication is used for every endpoint.',
    'Basic authentication is disabled on the admin port.',
    'postgres://user:password@localhost:5432/mydb',
    'mysql://root:${MYSQL_ROOT_PASSWORD}@db/app',
    'https://user:pass@example.com/private',
    'redis://localhost:6379/0',
    'mongodb://localhost:27017/test',
    'git clone git@github.com:acme/brain.git',
    'key: editor-preference',
    'primary key: id',
    'sort_key = created_at',
    'max_tokens=4096',
    'tokens: 1500 per request',
    'token_type: Bearer',
    'grant_type=client_credentials',
    'client_id: 1234567890-abcdefg.apps.googleusercontent.com',
    'The user prefers vim keybindings everywhere.',
    'The user likes passwords managed by 1Password.',
    'We rotate the GitHub token every 90 days.',
    'Store the API key in 1Password, not in the repo.',
    'The AWS secret access key lives in Vault under kv/aws/prod.',
    'Stripe keys start with sk_live_ or sk_test_.',
    'npm tokens are created with `npm token create`.',
    'Hugging Face tokens begin with hf_ and are read-only by default.',
    'The file starts with -----BEGIN OPENSSH PRIVATE KEY----- and is mode 0600.',
    '-----BEGIN OPENSSH PRIVATE KEY-----\n...\n-----END OPENSSH PRIVATE KEY-----',
    '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE',
    '-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ',
    'AKIAIOSFODNN7EXAMPLE is the access key id in the AWS docs',
    'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    'aws_account_id = 123456789012',
    'arn:aws:iam::123456789012:role/deploy-pipeline-role',
    'Deploy with the API on Tuesday.',
    'The release branch is release/2024-11-hotfix-payments.',
    'Our design doc: docs/architecture/secret-management-overview.md',
    'pip install scikit-learn==1.5.2 --require-hashes',
    'numpy-1.26.4-cp312-cp312-manylinux_2_17_x86_64.whl',
    'background-color: #1a2b3c; border: 1px solid #ffcc00;',
    'The function test_password_reset_token_expires covers it.',
    'session_timeout_seconds: 3600',
    'secret_santa_budget: 25 dollars',
    'Remember: the on-call pager rotation starts Monday.',
    'Note: authentication uses OAuth2 with PKCE.',
    'The PIN is four digits long.',
    'my password is case-sensitive',
    'TODO list: passphrase rotation policy draft',
    'Kubernetes: kubectl create secret generic db-pass --from-file=./password.txt',
    'The signature check uses Ed25519 over the canonical JSON.',
    'Signing key rotation happens quarterly; the key id is in the JWKS.',
    'sig=1 means the signal handler ran',
    'signature = 3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b',
    'X-Hub-Signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
    'tests pass: 100%',
    'author: Jane Roe <jane@example.com>',
    'tokenizer: cl100k_base',
    'keyId: 7f3a9c2e-5b1d-4e8f-9a6c-2d4b8e1f3a7c',
    'private_key_path: /etc/ssl/private/server.key',
    'ssh_key: ~/.ssh/id_ed25519',
    'The wifi password is on the fridge.',
    'API key rotation: every 90 days',
    'secret: the launch date moves to March',
    'commit message: fix auth: handle expired sessions',
    'encryption_key: AES-256',
    'api_key: see the 1Password item "Stripe prod"',
    'https://www.example.com/search?q=secret+management&page=2',
    'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHJlYWxseV9ub3RfYV9zZWNyZXRfanVzdF9ib3lz jane@laptop',
    'The Discord server for the team is discord.gg/acme-eng.',
    'Use the `Authorization` header with the token from `brain token`.',
    'public_key: MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEexamplexamplexample',
  ];
  const generated: string[] = [];
  for (let i = 0; i < 6; i++) generated.push(`request id ${crypto.randomUUID()} failed with 502`);
  for (let i = 0; i < 6; i++) generated.push(`commit ${str(HEX, 40)}\nAuthor: Jane Roe <jane@example.com>\n\n    Fix the flaky retry test`);
  for (let i = 0; i < 4; i++) generated.push(`sha256sum: ${str(HEX, 64)}  brain-0.1.0.tgz`);
  for (let i = 0; i < 3; i++) generated.push(`"integrity": "sha512-${str(B64, 86)}=="`);
  for (let i = 0; i < 3; i++) generated.push(`image: ghcr.io/acme/brain@sha256:${str(HEX, 64)}`);
  for (const text of ['The quick brown fox jumps over the lazy dog', 'meeting notes for the quarterly planning', 'hello world from the brain project']) {
    generated.push(`base64 of the greeting: ${Buffer.from(text).toString('base64')}`);
  }
  for (let i = 0; i < 3; i++) generated.push(`Merged PR #${100 + i}: short sha ${str(HEX, 7)}, build ${str(DIGITS, 6)}`);
  return [...fixed, ...generated].map((t) => ['look-alike', t]);
}

describe('the labelled set', () => {
  const positives = secrets();
  const negatives = lookAlikes();

  it('has at least 100 secrets of many kinds and 100 look-alikes', () => {
    expect(positives.length).toBeGreaterThanOrEqual(100);
    expect(new Set(positives.map(([label]) => label)).size).toBeGreaterThanOrEqual(40);
    expect(negatives.length).toBeGreaterThanOrEqual(100);
  });

  it('finds >= 95% of the secrets and refuses <= 3% of the look-alikes', () => {
    const missed = positives.filter(([, text]) => findSecret(text) === undefined);
    const refused = negatives.map(([, text]) => [text, findSecret(text)] as const).filter(([, kind]) => kind !== undefined);
    const recall = 1 - missed.length / positives.length;
    const fpRate = refused.length / negatives.length;
    console.info(
      `secret detector: recall ${(recall * 100).toFixed(1)}% (${positives.length - missed.length}/${positives.length} secrets, ${new Set(positives.map(([l]) => l)).size} kinds), ` +
        `false positives ${(fpRate * 100).toFixed(1)}% (${refused.length}/${negatives.length} look-alikes)` +
        (missed.length ? `\n  missed: ${missed.map(([label, t]) => label + ' ' + JSON.stringify(t)).join(', ')}` : '') +
        (refused.length ? `\n  refused: ${refused.map(([text, kind]) => `${JSON.stringify(text.slice(0, 60))} as ${kind}`).join('; ')}` : ''),
    );
    expect(recall).toBeGreaterThanOrEqual(0.95);
    expect(fpRate).toBeLessThanOrEqual(0.03);
  });
});

describe('each reported miss and false alarm', () => {
  const zw = '\u200b';
  it.each([
    ['aws_secret_access_key = ...', `aws_secret_access_key = ${str(B64, 40)}`, /AWS|secret/],
    ['password: hunter2', 'password: hunter2', /password/],
    ['my bank password is ...', 'my bank password is Tr0ub4dor&3', /password/],
    ['a Go MySQL DSN', `db, err := sql.Open("mysql", "shop:S3cr3tPw@tcp(10.0.0.5:3306)/shop")`, /DSN/],
    ['npm_...', `npm_${str(ALNUM, 36)}`, /npm/],
    ['hf_...', `hf_${str(UPPER + LOWER, 34)}`, /Hugging Face/],
    ['SG....', `SG.${str(ALNUM, 22)}.${str(ALNUM, 43)}`, /SendGrid/],
    ['AccountKey=...', `DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=${str(B64, 86)}==;EndpointSuffix=core.windows.net`, /secret/],
    ['an opaque Authorization: Bearer', `Authorization: Bearer ${str(HEX, 40)}`, /bearer/],
    ['a GitHub token with a zero-width space', (() => { const t = `ghp_${str(ALNUM, 36)}`; return t.slice(0, 8) + zw + t.slice(8); })(), /GitHub/],
  ])('finds %s', (_name, text, kind) => {
    expect(findSecret(text)).toMatch(kind);
  });

  it.each([
    ['sk-learn-compatible-estimator-...', 'sk-learn-compatible-estimator-for-gradient-boosting-trees'],
    ['the pod mounts secret: db-credentials-v2', 'the pod mounts secret: db-credentials-v2'],
  ])('stores %s', (_name, text) => {
    expect(findSecret(text)).toBeUndefined();
  });

  it('a placeholder first does not hide a real secret later on', () => {
    expect(findSecret('set password=PASSWORD1 in dev; prod password=hunter2abc9')).toMatch(/password/);
    expect(findSecret('postgres://user:password@localhost/dev and postgres://app:Zq8vL2pw@db/prod')).toMatch(/URL|connection string/);
  });

  it('keeps the kinds brain found before', () => {
    expect(findSecret(`key AKIA${str(UPPER + '234567', 16)}`)).toMatch(/AWS/);
    expect(findSecret(`sk-ant-api03-${str(ALNUM, 30)}`)).toMatch(/Anthropic/);
    expect(findSecret('xoxb-1234567890-abcdefghij')).toMatch(/Slack/);
    expect(findSecret(`sk_live_${str(ALNUM, 24)}`)).toMatch(/Stripe/);
    expect(findSecret(`AIza${str(ALNUM, 35)}`)).toMatch(/Google/);
    expect(findSecret('postgres://admin:s3cr3tpw@db:5432/app')).toMatch(/URL|connection string/);
    expect(findSecret('-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA')).toMatch(/private key/);
  });
});

describe('normalisation and value shapes', () => {
  it('removes invisible characters and folds compatibility forms before scanning', () => {
    expect(normalizeForScan('a\u200bb\u200cc\u200dd\u2060e\ufefff\u00adg\u202eh\u2066i')).toBe('abcdefghi');
    expect(normalizeForScan('ｇｈｐ＿ＡＢＣ')).toBe('ghp_ABC');
    expect(normalizeForScan('plain ascii')).toBe('plain ascii');
  });

  it('tells random tokens from names, and chosen passwords from words', () => {
    expect(entropy('aaaa')).toBe(0);
    expect(entropy('abcd')).toBe(2);
    expect(looksRandom(str(HEX, 32))).toBe(true);
    expect(looksRandom(str(ALNUM, 40))).toBe(true);
    expect(looksRandom('db-credentials-v2-production')).toBe(false);
    expect(looksRandom('projects/acme/secrets/db-password')).toBe(false);
    expect(looksRandom('aaaa1111aaaa1111')).toBe(false);
    expect(looksRandom('YOUR_API_KEY_GOES_HERE')).toBe(false);
    expect(looksLikePassword('hunter2')).toBe(true);
    expect(looksLikePassword('required')).toBe(false);
    expect(looksLikePassword('${DB_PASSWORD}')).toBe(false);
    expect(looksLikePassword('os.environ.get(')).toBe(false);
  });

  it('checks structured values through their JSON, names included', () => {
    expect(findSecretIn({ db: { user: 'app', password: 'Zq8vL2pw!' } })).toMatch(/password/);
    expect(findSecretIn(['deploy', `ghp_${str(ALNUM, 36)}`])).toMatch(/GitHub/);
    expect(findSecretIn({ retries: 3, note: 'the password is required' })).toBeUndefined();
    expect(findSecretIn(undefined)).toBeUndefined();
    expect(findSecretIn(null)).toBeUndefined();
  });
});

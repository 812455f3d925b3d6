// The credential check in every place brain stores free text, through the real tools over stdio:
// each refuses text holding a credential, names the field and the kind, stores nothing (no row, no
// file), and stores it when the call says "allow_secrets": true. Credential-like values are built
// at run time in the providers' formats; none is real.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { brainEnv, call, callError, ROOT, startBrain, tempDir, type Connected } from './helpers/brain.js';

const githubToken = 'ghp_' + 'Zk3q9XvB2mLp7RtY4wNc8HdJ6sFa1GeU0iOb';
const awsLine = 'aws_secret_access_key = ' + 'q8Fz/2LmXv7RkWc9NpT4bYh6Jd1Ge3SaUo0Qi5Kr';
const dsn = 'shop:S3cr3tPw@tcp(10.0.0.5:3306)/shop';

let dir: string;
let brain: Connected;
let c: Client;

beforeAll(async () => {
  dir = tempDir();
  brain = await startBrain(brainEnv(dir));
  c = brain.client;
  await call(c, 'init', { project: 'vault-test', client: 'secrets-e2e' });
});
afterAll(async () => {
  await brain.close();
});

const refusal = (field: string, kind: RegExp) => new RegExp(`"${field}" looks like it contains ${kind.source}.*allow_secrets`);

describe('the credential check over stdio', () => {
  it('remember: content and tags', async () => {
    expect(await callError(c, 'remember', { key: 'deploy', content: `CI uses ${githubToken}` })).toMatch(refusal('content', /a GitHub token/));
    expect(await callError(c, 'remember', { key: 'deploy', content: 'CI deploys on merge.', tags: ['ci', githubToken] })).toMatch(refusal('tags', /a GitHub token/));
    expect(await callError(c, 'recall', { key: 'deploy' })).toMatch(/No memory with key "deploy"/);
    await call(c, 'remember', { key: 'deploy', content: `CI uses ${githubToken}`, allow_secrets: true });
    expect((await call<{ results: { content: string }[] }>(c, 'recall', { key: 'deploy' })).results[0].content).toContain(githubToken);
  });

  it('note write: content, title and tags; no file is left behind', async () => {
    const notesDir = path.join(dir, 'notes', 'vault-test');
    expect(await callError(c, 'note', { action: 'write', title: 'Runbook', content: `Connect with:\n\n    ${dsn}\n` })).toMatch(refusal('content', /a database DSN/));
    expect(await callError(c, 'note', { action: 'write', title: `Token ${githubToken}`, content: 'Rotate monthly.' })).toMatch(refusal('title', /a GitHub token/));
    expect(await callError(c, 'note', { action: 'write', title: 'Runbook', content: 'Rotate monthly.', tags: [githubToken.toLowerCase() + '9z'] })).toMatch(/"tags" looks like/);
    expect((await call<{ notes: unknown[] }>(c, 'note', { action: 'list' })).notes).toEqual([]);
    expect(fs.existsSync(notesDir) ? fs.readdirSync(notesDir) : []).toEqual([]);
    const w = await call<{ path: string }>(c, 'note', { action: 'write', title: 'Runbook', content: `Connect with:\n\n    ${dsn}\n`, allow_secrets: true });
    expect(fs.readFileSync(path.join(notesDir, w.path), 'utf8')).toContain(dsn);
  });

  it('events record: message, details and source, on create and on update', async () => {
    expect(await callError(c, 'events', { action: 'record', type: 'deploy', message: `deployed with ${awsLine}` })).toMatch(refusal('message', /(an AWS|a password or secret)/));
    expect(await callError(c, 'events', { action: 'record', type: 'deploy', message: 'deployed v2', details: { env: { DB_PASSWORD: 'Zq8vL2pw!' } } })).toMatch(refusal('details', /a password/));
    expect((await call<{ events: unknown[] }>(c, 'events', { type: ['deploy'] })).events).toEqual([]);
    const created = await call<{ id: number }>(c, 'events', { action: 'record', type: 'deploy', message: 'deployed v2' });
    expect(await callError(c, 'events', { action: 'record', id: created.id, message: `password: hunter2` })).toMatch(refusal('message', /a password/));
    expect(await callError(c, 'events', { action: 'record', id: created.id, details: { header: 'Authorization: Bearer 4f9a8c7d2e1b6a5f3c0d9e8b7a6c5d4e3f2a1b0c' } })).toMatch(refusal('details', /a bearer token/));
    const [stored] = (await call<{ events: { message: string; details?: unknown }[] }>(c, 'events', { id: created.id })).events;
    expect(stored).toMatchObject({ message: 'deployed v2' });
    expect(stored.details).toBeUndefined();
    await call(c, 'events', { action: 'record', id: created.id, message: 'password: hunter2', allow_secrets: true });
    expect((await call<{ events: { message: string }[] }>(c, 'events', { id: created.id })).events[0].message).toBe('password: hunter2');
  });

  it('project save: description and context items', async () => {
    expect(await callError(c, 'project', { action: 'save', name: 'payments', create: true, description: `Payments; Stripe key sk_live_${'4eC39HqLyjWDarjtT1zdp7dc'}` })).toMatch(refusal('description', /a Stripe key/));
    expect((await call<{ projects: { name: string }[] }>(c, 'project', { action: 'list' })).projects.map((p) => p.name)).not.toContain('payments');
    const made = await call<{ version: number }>(c, 'project', { action: 'save', name: 'payments', create: true, description: 'Payments service' });
    expect(await callError(c, 'project', { action: 'save', name: 'payments', add: { conventions: ['the wifi password is Tr0ub4dor&3'] } })).toMatch(refusal('add', /a password/));
    expect((await call<{ projects: { version: number; context?: Record<string, string[]> }[] }>(c, 'project', { action: 'list', name: 'payments' })).projects[0]).toMatchObject({ version: made.version });
    const saved = await call<{ context: Record<string, string[]> }>(c, 'project', { action: 'save', name: 'payments', add: { conventions: ['the wifi password is Tr0ub4dor&3'] }, allow_secrets: true });
    expect(saved.context.conventions).toEqual(['the wifi password is Tr0ub4dor&3']);
  });

  it('message: subject, body and context of a cluster message', async () => {
    await call(c, 'blueprint', { action: 'save', yaml: fs.readFileSync(path.join(ROOT, 'blueprints', 'software-team.yaml'), 'utf8') });
    await call(c, 'cluster', { action: 'create', blueprint: 'software-team', id: 'web' });
    const send = { action: 'send', agent: 'web/lead', to: 'web/tester', subject: 'staging access' };
    expect(await callError(c, 'message', { ...send, body: `use ${dsn}` })).toMatch(refusal('body', /a database DSN/));
    expect(await callError(c, 'message', { ...send, context: { token: githubToken } })).toMatch(refusal('context', /a GitHub token/));
    const inbox = () => call<{ messages: unknown[] }>(c, 'message', { action: 'inbox', agent: 'web/tester' });
    expect((await inbox()).messages).toEqual([]);
    await call(c, 'message', { ...send, body: `use ${dsn}`, allow_secrets: true });
    expect((await inbox()).messages).toHaveLength(1);
  });
});

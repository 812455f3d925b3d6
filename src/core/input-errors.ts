// zod issues as sentences a person or a model can act on: which field, what it must be, what was
// given. zod 4 leaves the offending value out of its issues unless asked (`reportInput: true`), and
// without it a wrong type cannot be told from a missing field ("limit": 1.5 is not "missing").
import type { z } from 'zod';

/** Parse options every validation of client input uses, so issues carry the value given. */
export const REPORT_INPUT = { reportInput: true } as const;

const KINDS: Record<string, string> = {
  string: 'text (a string)',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
  record: 'an object',
  null: 'null',
  bigint: 'a whole number',
  date: 'a date',
};

/** A short, safe rendering of a value someone sent (never the whole of a large one). */
export function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    // Too deep to render (or a cycle): the type is enough to act on.
    text = Array.isArray(value) ? '[...]' : typeof value === 'object' ? '{...}' : String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function place(path: readonly PropertyKey[], prefix: string): string {
  const parts = [prefix, ...path.map(String)].filter(Boolean);
  return parts.length ? `"${parts.join('.')}"` : 'the arguments';
}

function isMissing(issue: z.core.$ZodIssue): boolean {
  if (issue.code !== 'invalid_type') return false;
  // With reportInput a missing field is the only invalid_type without an input.
  if ('input' in issue) return issue.input === undefined;
  return /received undefined$/.test(issue.message);
}

/** The kinds a union accepts, read from its branches' type issues ("text (a string) or a list"). */
function unionKinds(issue: z.core.$ZodIssueInvalidUnion): string | undefined {
  const kinds = new Set<string>();
  for (const branch of issue.errors) {
    const top = branch.find((i) => i.path.length === 0);
    if (!top) return undefined;
    if (top.code === 'invalid_type') kinds.add(KINDS[top.expected] ?? top.expected);
    else if (top.code === 'invalid_value') for (const v of top.values) kinds.add(JSON.stringify(v));
    else return undefined;
  }
  return kinds.size ? [...kinds].join(' or ') : undefined;
}

/** One issue as a clause: `"limit" must be a whole number (got 1.5)`. */
export function describeIssue(issue: z.core.$ZodIssue, prefix = ''): string {
  const where = place(issue.path, prefix);
  // zod's own messages say what was expected but not what came; a message written for the field
  // already says what to change, and is left as it is.
  const generic = /^(Invalid|Too (big|small)|Expected)/.test(issue.message);
  const got = 'input' in issue && generic ? ` (got ${shown(issue.input)})` : '';
  switch (issue.code) {
    case 'unrecognized_keys': {
      const names = issue.keys.map((k) => `"${k}"`).join(', ');
      const inside = issue.path.length || prefix ? ` in ${where}` : '';
      return issue.keys.length === 1 ? `unknown field ${names}${inside}; remove it` : `unknown fields ${names}${inside}; remove them`;
    }
    case 'invalid_type': {
      if (isMissing(issue)) return `${where} is required`;
      // A message written for this field says more than the generic one.
      if (!generic) return `${where}: ${issue.message}`;
      return `${where} must be ${KINDS[issue.expected] ?? issue.expected}${got}`;
    }
    case 'invalid_union': {
      const kinds = unionKinds(issue);
      return kinds ? `${where} must be ${kinds}${got}` : `${where}: ${issue.message}${got}`;
    }
    case 'invalid_value':
      return issue.message.startsWith('Invalid')
        ? `${where} must be ${issue.values.length === 1 ? JSON.stringify(issue.values[0]) : `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`}${got}`
        : `${where}: ${issue.message}${got}`;
    default:
      return `${where}: ${issue.message}${got}`;
  }
}

/** Every issue of an error, joined into one sentence body (no trailing period). */
export function describeIssues(error: z.ZodError, prefix = ''): string {
  return error.issues.map((issue) => describeIssue(issue, prefix)).join('; ');
}

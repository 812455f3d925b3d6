// The one refusal every area gives when free text it is asked to store looks like a credential
// (detection: src/text/secrets.ts), and the one opt-out: "allow_secrets": true.
import { z } from 'zod';
import { UserError } from './errors.js';
import { findSecretIn } from '../text/secrets.js';

/** The opt-out argument, the same on every tool that stores free text. */
export const allowSecretsArg = z.boolean().default(false).describe('Store text that looks like a credential anyway.');

/**
 * Throws a UserError naming the first field whose value looks like it holds a credential, and
 * what kind (never the value itself, which would go back into the conversation and the logs).
 * Fields are checked in the order given; undefined and null are skipped.
 */
export function refuseSecrets(fields: Record<string, unknown>): void {
  for (const [field, value] of Object.entries(fields)) {
    const kind = findSecretIn(value);
    if (kind) {
      throw new UserError(
        `"${field}" looks like it contains ${kind}; brain does not store credentials, since what it keeps is read back in later conversations. Remove the secret (say where it is kept instead), or call again with "allow_secrets": true if storing it is intended.`,
      );
    }
  }
}

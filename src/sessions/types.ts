// What other areas give the sessions area: the sections they add to init's result.
import type { z } from 'zod';
import type { SessionState } from '../core/tool.js';

export interface InitSection {
  /** Key in the init result. */
  name: string;
  schema: z.ZodType;
  /** Builds the section within `budgetChars` (JSON length), or undefined to leave it out. */
  build(session: SessionState, budgetChars: number): unknown | undefined;
}

// Project scoping shared by every area: items belong to one project or are global ('' in the
// database, "global" in tool arguments). A search sees the active project plus global items, and
// another project's only when asked for by name (or "*" for all).
import { z } from 'zod';
import { UserError } from './errors.js';
import type { SessionState } from './tool.js';

export const GLOBAL = 'global';
export const ALL = '*';
export const PROJECT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const projectName = z
  .string()
  .regex(PROJECT_NAME, 'a project name is 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');

/** Argument for tools that write: where the item goes. */
export const writeProjectArg = projectName
  .optional()
  .describe('Default: the active project. "global": shared by all.');

/** Argument for tools that read: which projects to look in. */
export const readProjectArg = z
  .union([projectName, z.literal(ALL)])
  .optional()
  .describe('Default: the active project plus global. "global": global only; "*": all.');

export function writeProject(arg: string | undefined, session: SessionState): string {
  if (arg === undefined) return session.project;
  return arg === GLOBAL ? '' : arg;
}

/** The projects a read may see, or undefined for all of them. */
export function visibleProjects(arg: string | undefined, session: SessionState): string[] | undefined {
  if (arg === ALL) return undefined;
  const project = arg === undefined ? session.project : arg === GLOBAL ? '' : arg;
  return project === '' ? [''] : [project, ''];
}

/** "global" for display, the name otherwise. */
export function displayProject(project: string): string {
  return project === '' ? GLOBAL : project;
}

export function assertProjectName(name: string): void {
  if (!PROJECT_NAME.test(name)) throw new UserError(`"${name}" is not a valid project name: use 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit.`);
}

// Merged tools (note, project, events, blueprint, cluster, message, task) take an `action` and flat
// optional fields, because every conversation pays for tools/list and one schema per action would
// cost several times as much. What the flat schema cannot say, which fields an action uses, each
// tool declares in a table; the server checks the caller's arguments against it before the
// handler runs, so a field given to the wrong action is named in the error instead of being
// silently ignored, and a call missing what its action needs changes nothing.
import { UserError } from './errors.js';

/** The fields one action uses besides `action` and the tool's fields for every action. */
export interface ActionFields {
  /** Fields the action cannot do without. */
  needs?: readonly string[];
  /** Fields it may take besides. */
  takes?: readonly string[];
  /** At least one of these (an update needs something to change). */
  oneOf?: readonly string[];
}

export interface ToolActions {
  /** Each action's fields. */
  table: Readonly<Record<string, ActionFields>>;
  /** Fields every action takes (a note's project, a message's agent). */
  always?: readonly string[];
}

const quoted = (names: readonly string[]) => names.map((n) => `"${n}"`).join(names.length === 2 ? ' and ' : ', ');

/**
 * Throws a UserError naming the fields `action` does not use or the ones it needs. `given` is
 * what the caller wrote, before defaults were filled in; a field written with its default value
 * (`"create": false`, as clients that fill every field send) counts as left out: only what
 * changes the call can be a mistake.
 */
export function checkActionFields(
  tool: string,
  action: string,
  actions: ToolActions,
  given: Readonly<Record<string, unknown>>,
  defaults: Readonly<Record<string, unknown>> = {},
): void {
  const spec = actions.table[action];
  if (!spec) return;
  const needs = spec.needs ?? [];
  const uses = [...needs, ...(spec.takes ?? []), ...(actions.always ?? [])];
  const takes = uses.length ? `${action} takes ${quoted(uses)}` : `${action} takes no other field`;
  const isDefault = (k: string) => k in defaults && JSON.stringify(defaults[k]) === JSON.stringify(given[k]);
  const written = Object.keys(given).filter((k) => k !== 'action' && given[k] !== undefined && !isDefault(k));
  const extra = written.filter((k) => !uses.includes(k));
  if (extra.length) throw new UserError(`${tool} ${action} does not use ${quoted(extra)}; remove ${extra.length > 1 ? 'them' : 'it'} (${takes}).`);
  const missing = needs.filter((k) => given[k] === undefined);
  if (missing.length) throw new UserError(`${tool} ${action} needs ${quoted(missing)} (${takes}).`);
  if (spec.oneOf && !spec.oneOf.some((k) => given[k] !== undefined)) throw new UserError(`${tool} ${action} needs at least one of ${quoted(spec.oneOf)}.`);
}

// What init shows of the active project: its description and context, trimmed to the budget.
import { z } from 'zod';
import type { InitSection } from '../sessions/types.js';
import type { ProjectService } from './service.js';
import { CONTEXT_KEYS } from './store.js';

const schema = z.object({
  name: z.string(),
  description: z.string(),
  context: z.record(z.string(), z.array(z.string())),
  version: z.number(),
  omitted_items: z.number().optional(),
});

export function projectInitSection(projects: ProjectService): InitSection {
  return {
    name: 'project_context',
    shows: 'the active project',
    schema,
    build(session, budgetChars) {
      if (!session.project) return undefined;
      const p = projects.find(session.project);
      if (!p) return undefined;
      const value = { name: p.name, description: p.description, context: p.context, version: p.version } as z.infer<typeof schema>;
      const lists = p.context;
      const size = () => JSON.stringify(value).length;
      if (size() > budgetChars && value.description.length > 500) value.description = value.description.slice(0, 500) + '…';
      // Newest items are last in each list; trim the oldest-first lists from the end evenly.
      let omitted = 0;
      while (size() > budgetChars) {
        const longest = CONTEXT_KEYS.reduce((a, b) => (lists[b].length > lists[a].length ? b : a));
        if (lists[longest].length === 0) break;
        lists[longest].pop();
        omitted++;
      }
      if (omitted) value.omitted_items = omitted;
      return size() > budgetChars ? undefined : value;
    },
    more(_session, shown) {
      const { name, omitted_items } = shown as z.infer<typeof schema>;
      return omitted_items ? `${omitted_items} more items of ${name}: project {"action": "list", "name": ${JSON.stringify(name)}}.` : undefined;
    },
  };
}

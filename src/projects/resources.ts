// Projects as brain:// resources: brain://projects/<name>, the description and context as JSON.
import { UserError } from '../core/errors.js';
import { PROJECT_NAME } from '../core/scope.js';
import { completeFrom, type ResourceProvider } from '../core/server.js';
import type { ProjectService } from './service.js';

const PREFIX = 'brain://projects/';

export function projectResources(projects: ProjectService): ResourceProvider {
  return {
    templates: [
      {
        uriTemplate: 'brain://projects/{name}',
        name: 'project',
        title: 'Project',
        description: 'A project\'s description and context (goals, decisions, conventions, open questions).',
        mimeType: 'application/json',
        complete: { name: (typed) => completeFrom(projects.list().map((p) => p.name), typed) },
      },
    ],
    list() {
      return projects.list().map((p) => ({ uri: PREFIX + p.name, name: p.name, title: p.name, description: p.description.slice(0, 200) || undefined, mimeType: 'application/json' }));
    },
    read(uri) {
      if (!uri.startsWith(PREFIX)) return undefined;
      const name = uri.slice(PREFIX.length);
      if (!PROJECT_NAME.test(name)) throw new UserError(`${uri} is not a valid project URI: use brain://projects/<name>.`);
      return { uri, mimeType: 'application/json', text: JSON.stringify(projects.get(name), null, 2) };
    },
  };
}

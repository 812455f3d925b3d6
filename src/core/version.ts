// brain's version, from its package.json (found from dist/src/core or src/core alike). Its own
// module, so that `brain --version` and shell completion start without loading the whole app.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding brain's package.json: a checkout, or where npm installed the package. */
export function packageRoot(): string | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  return undefined;
}

export function packageVersion(): string {
  const root = packageRoot();
  return root ? (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version : '0.0.0';
}

/**
 * How to run one of brain's scripts, for messages that tell a person what to do: the full path
 * when brain runs from an npm install (where `scripts/` is not the current folder's).
 */
export function scriptPath(name: string): string {
  const root = packageRoot();
  const file = root ? path.join(root, 'scripts', name) : '';
  return file && fs.existsSync(file) ? file : `scripts/${name}`;
}

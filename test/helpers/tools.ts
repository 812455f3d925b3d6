// Programs some tests run besides brain (promtool, systemd-analyze, zsh, ...). A missing one fails
// its test with a sentence naming the package to install, never with an assertion on a null exit
// status. `./scripts/install.sh --dev` installs every package named here (test/install.test.ts
// holds the two lists together).
import fs from 'node:fs';
import path from 'node:path';

/** The program's path on PATH, or undefined. */
export function findTool(command: string, searchPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, command);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** Throws, naming the Debian package and the install command, when `command` is not on PATH. */
export function requireTool(command: string, debianPackage: string): string {
  const found = findTool(command);
  if (found) return found;
  throw new Error(
    `${command} is not installed, and this test runs it: it comes with the Debian package ${debianPackage}. ` +
      `Install the test prerequisites with \`./scripts/install.sh --dev\` (or \`sudo apt-get install ${debianPackage}\`), then run npm test again.`,
  );
}

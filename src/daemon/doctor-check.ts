// `brain doctor` lines for daemon mode: whether a brain serve answers, and whether this user may
// reach its socket. Optional: embedded mode needs neither.
import fs from 'node:fs';
import type { Config } from '../core/config.js';
import type { Check } from '../doctor.js';
import { chooseDaemon } from './discover.js';
import { socketIsLive } from './unix-socket.js';

export async function daemonChecks(config: Config): Promise<Check[]> {
  const file = config.socketPath;
  if (!fs.existsSync(file)) {
    return [{ name: 'daemon', ok: true, optional: true, detail: `no brain serve socket at ${file} (embedded mode; see README, "Daemon mode")` }];
  }
  if (await socketIsLive(file)) {
    // Whether `brain` with these settings would use it (src/daemon/discover.ts), and if not, why.
    const choice = await chooseDaemon({ socketPath: file, dbPath: config.dbPath, tools: config.tools, mode: config.useDaemon });
    const how = choice.use
      ? 'brain with these settings bridges to it'
      : choice.why
        ? `brain runs embedded: ${choice.why}`
        : config.useDaemon === 'never'
          ? 'brain runs embedded (BRAIN_USE_DAEMON=never)'
          : 'brain runs embedded (no record beside the socket: that brain serve is older than this brain)';
    return [{ name: 'daemon', ok: true, optional: true, detail: `brain serve answers on ${file}; ${how}` }];
  }
  let why = 'nothing answers (a stale socket; brain serve removes it when it starts)';
  try {
    fs.accessSync(file, fs.constants.R_OK | fs.constants.W_OK);
  } catch {
    why = 'this user may not connect to it';
  }
  return [
    {
      name: 'daemon',
      ok: false,
      optional: true,
      detail: `${file}: ${why}`,
      fix: 'start it (systemctl start brain), or join the brain group to reach its socket (usermod -aG brain $USER)',
    },
  ];
}

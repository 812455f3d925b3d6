// Canary attacks run in a real sandbox before the first execution: if any of them gets through,
// `execute` stays disabled (fail closed) and says which one.
import type { SandboxHost } from './host.js';

export interface CanaryReport {
  passed: string[];
  failed: string[];
}

export function canaryProgram(secretPath: string): string {
  return `
import os, json, socket
r = {}
st = open('/proc/self/status').read().splitlines()
field = lambda k: [l.split()[1] for l in st if l.startswith(k + ':')][0]
r['uid'] = os.getuid()
r['capeff'] = field('CapEff')
r['nonewprivs'] = field('NoNewPrivs')
r['seccomp'] = field('Seccomp')
try:
    socket.create_connection(('1.1.1.1', 53), timeout=1).close(); r['net'] = 'open'
except OSError:
    r['net'] = 'blocked'
r['ifaces'] = sorted(os.listdir('/sys/class/net'))
r['env'] = sorted(os.environ)
def readable(p):
    try:
        open(p, 'rb').read(1); return True
    except OSError:
        return False
r['secret'] = readable(${JSON.stringify(secretPath)})
r['shadow'] = readable('/etc/shadow')
print(json.dumps(r))
`;
}

/** Variables firejail or brain set inside the sandbox; anything else from the server is a leak. */
const SANDBOX_ENV = new Set(['PATH', 'LANG', 'HOME', 'SHELL', 'LC_CTYPE', 'MPLBACKEND', 'MPLCONFIGDIR', 'XDG_CACHE_HOME', 'PYTHONDONTWRITEBYTECODE', 'OPENBLAS_NUM_THREADS', 'container', 'QT_X11_NO_MITSHM', 'QML_DISABLE_DISK_CACHE', 'KDE_FORK_SLAVES', 'PROMPT_COMMAND', 'FIREJAIL_QUIET', 'PWD', 'SHLVL', '_', 'LC_ALL', 'TERM']);

export function judgeCanary(stdout: string, host: SandboxHost, serverEnv: NodeJS.ProcessEnv): CanaryReport {
  const passed: string[] = [];
  const failed: string[] = [];
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
  } catch {
    return { passed, failed: [`canary program did not report (output: ${stdout.slice(0, 200)})`] };
  }
  const check = (name: string, ok: boolean) => (ok ? passed : failed).push(name);
  check('unprivileged uid', r.uid !== 0 && (host.spec.uid === undefined || r.uid === host.spec.uid));
  check('no capabilities', r.capeff === '0000000000000000');
  check('no new privileges', r.nonewprivs === '1');
  check('seccomp filter', r.seccomp === '2');
  check('no network', r.net === 'blocked' && Array.isArray(r.ifaces) && (r.ifaces as string[]).every((i) => i === 'lo'));
  const leaked = (r.env as string[] | undefined ?? []).filter((k) => !SANDBOX_ENV.has(k) && serverEnv[k] !== undefined);
  check(`no server environment${leaked.length ? ` (leaked: ${leaked.join(', ')})` : ''}`, leaked.length === 0);
  check('brain database hidden', r.secret === false);
  check('/etc/shadow unreadable', r.shadow === false);
  return { passed, failed };
}

// The Python bootstrap every sandbox starts with. It starts, reports "ready" on fd 3 and waits
// for exactly one program on stdin: that is what lets brain start sandboxes ahead of time (the
// interpreter start is paid before the call) while each one still runs a single execution.
//
// Protocol (host -> sandbox, on stdin, then stdin is closed):
//   one JSON line {"code": <bytes>, "stdin": <bytes>, "language": "python"|"bash",
//   "files": [{"path", "size"}], "max_image": <bytes>}, then the code bytes, the stdin bytes and each file's bytes.
//   Input files are written here, inside the sandbox, as the sandbox user: a symlink planted in
//   the workspace can then only ever lead to what the sandbox itself may write.
// Sandbox -> host, on fd 3 (a socket the host keeps open):
//   "ready\n" when waiting; after the program, "figure <bytes>\n" + PNG bytes for each open
//   matplotlib figure, then "usage <cpu_ms> <max_rss_kb>\n". The program shares this socket, so
//   brain checks each figure and takes the status from the process's exit, not from here.
// fd 3 closing on the sandbox side means the host died: the sandbox then kills everything it
// started, so a crashed server leaves no process behind.
/**
 * What goes on the command line: firejail caps each argument at 4 KB, so the command line only
 * reads the runner (8 digits of length, then the source) from stdin and runs it.
 */
export const BOOT_PY = [
  'import os',
  'def r(n):',
  " b=b''",
  ' while len(b)<n:',
  '  c=os.read(0,n-len(b))',
  '  if not c: os._exit(0)',
  '  b+=c',
  ' return b',
  "exec(compile(r(int(r(8))),'<brain-runner>','exec'))",
].join('\n');

export const RUNNER_PY = String.raw`
import os, sys
def _brain_main():
    import io, json, signal, threading, traceback
    ctl = os.fdopen(3, 'r+b', buffering=0)
    home = os.environ.get('HOME')
    if home:
        try: os.chdir(home)
        except OSError: pass
    ctl.write(b'ready\n')
    def watchdog():
        try:
            while ctl.read(1):
                pass
        except Exception:
            pass
        try: os.kill(-1, signal.SIGKILL)
        finally: os._exit(137)
    chunks = []
    while True:
        b = os.read(0, 1 << 20)
        if not b:
            break
        chunks.append(b)
    data = b''.join(chunks)
    if not data:
        os._exit(0)
    nl = data.index(b'\n')
    head = json.loads(data[:nl])
    code = data[nl + 1:nl + 1 + head['code']]
    off = nl + 1 + head['code']
    stdin = data[off:off + head['stdin']]
    off += head['stdin']
    for f in head.get('files', []):
        body = data[off:off + f['size']]
        off += f['size']
        parts = f['path'].split('/')
        fd = os.open('.', os.O_RDONLY | os.O_DIRECTORY)
        try:
            for comp in parts[:-1]:
                try:
                    os.mkdir(comp, 0o755, dir_fd=fd)
                except FileExistsError:
                    pass
                nfd = os.open(comp, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                os.close(fd)
                fd = nfd
            out = os.open(parts[-1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644, dir_fd=fd)
            with os.fdopen(out, 'wb') as w:
                w.write(body)
        except OSError as e:
            print('brain: input file %s was refused (%s): symlinks and special files are not replaced' % (f['path'], e.strerror), file=sys.stderr)
            os._exit(2)
        finally:
            os.close(fd)
    threading.Thread(target=watchdog, daemon=True).start()
    status = 0
    if head.get('language') == 'bash':
        import subprocess
        r = subprocess.run(['/bin/bash', '-c', code.decode('utf-8', 'replace')], input=stdin, close_fds=True)
        status = r.returncode if r.returncode >= 0 else 128 - r.returncode
    else:
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding='utf-8', errors='replace')
        sys.argv = ['<brain>']
        glb = {'__name__': '__main__', '__builtins__': __builtins__, '__file__': '<brain>'}
        try:
            exec(compile(code, '<brain>', 'exec', dont_inherit=True), glb)
        except SystemExit as e:
            c = e.code
            status = c if isinstance(c, int) else (0 if c is None else 1)
            if c is not None and not isinstance(c, int):
                print(c, file=sys.stderr)
        except BaseException as e:
            tb = e.__traceback__
            while tb is not None and tb.tb_frame.f_code.co_filename != '<brain>':
                tb = tb.tb_next
            traceback.print_exception(type(e), e, tb)
            status = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    try:
        plt = sys.modules.get('matplotlib.pyplot')
        if plt is not None:
            for n in plt.get_fignums()[:8]:
                buf = io.BytesIO()
                plt.figure(n).savefig(buf, format='png', dpi=80)
                png = buf.getvalue()
                if len(png) > head.get('max_image', 0):
                    ctl.write(b'figure-dropped %d\n' % len(png))
                else:
                    ctl.write(b'figure %d\n' % len(png) + png)
    except Exception as e:
        print('brain: could not save figures: %s' % e, file=sys.stderr)
    try:
        import resource
        s = resource.getrusage(resource.RUSAGE_SELF)
        c = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime) * 1000
        ctl.write(b'usage %d %d\n' % (cpu, max(s.ru_maxrss, c.ru_maxrss)))
    except Exception:
        pass
    # Nothing the program started outlives it (daemons, double forks): in the sandbox's PID
    # namespace, -1 reaches every process but this one and firejail's init.
    try: os.kill(-1, signal.SIGKILL)
    except OSError: pass
    os._exit(status & 0xff)
_brain_main()
`;

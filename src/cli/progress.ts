// A one-line progress display for long commands (import, export, backup, restore, check,
// maintain). Only on a terminal, and on stderr: piped or redirected, a command prints exactly
// what it printed before, so scripts and logs never see carriage returns.

export interface Progress {
  /** Whether anything is shown (a terminal); work done only for the display can be skipped when not. */
  readonly active: boolean;
  /** Starts a step of the operation ("checking integrity"): shown at once. */
  step(label: string): void;
  /** How far the current step has got; redrawn at most every 100 ms, and when done reaches total. */
  tick(done: number, total?: number): void;
  /** Clears the line, so the result starts on a clean one. */
  end(): void;
}

/** For when the terminal shows the command's output itself (brain export to stdout). */
export const quiet: Progress = { active: false, step() {}, tick() {}, end() {} };

/** Redraws per second are what a person can read; more only costs time on a fast import. */
const REDRAW_MS = 100;

export function progress(command: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return quiet;
  let label = '';
  let lastDraw = 0;
  let shown = false;
  const draw = (text: string) => {
    // Longer than the terminal is wide, the line would wrap and \r would no longer reach its start.
    const width = Math.max(20, (stream.columns || 80) - 1);
    const line = `brain ${command}: ${text}`;
    stream.write(`\r\x1b[2K${line.length > width ? line.slice(0, width - 1) + '…' : line}`);
    shown = true;
    lastDraw = Date.now();
  };
  return {
    active: true,
    step(next) {
      label = next;
      draw(`${label}…`);
    },
    tick(done, total) {
      const finished = total !== undefined && done >= total;
      if (!finished && Date.now() - lastDraw < REDRAW_MS) return;
      const amount = total ? `${done.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} (${Math.floor((done / total) * 100)}%)` : done.toLocaleString('en-US');
      draw(`${label} ${amount}`);
    },
    end() {
      if (shown) stream.write('\r\x1b[2K');
      shown = false;
    },
  };
}

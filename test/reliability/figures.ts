// The figures each reliability test prints: one line per test, the source of the README's
// reliability table (kills, acknowledged writes, lost writes, inputs tried, crashes, ...).
export function report(test: string, figures: Record<string, number | string>): void {
  const text = Object.entries(figures)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? v.toLocaleString('en-US') : v}`)
    .join(', ');
  console.log(`reliability | ${test} | ${text}`);
}

/** RELIABILITY_KILLS and the like: a whole number from the environment, or the default. */
export function knob(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}=${raw} is not a whole number of at least 1`);
  return n;
}

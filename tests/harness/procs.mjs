// Chromium's processes as /proc shows them, for the CPU tools (tests/tools/cpu_profile.mjs,
// leave_timeline.mjs): what each one is and how much CPU it used so far.
import { readFileSync, readdirSync } from 'node:fs';

/**
 * Every Chromium process now: pid -> kind ('browser', 'gpu-process', 'utility:Network...',
 * 'renderer(extension)' for player frames, 'renderer(page)'). A zygote-started process rewrites
 * its command line with spaces, hence the split on both.
 */
export function chromiumProcesses() {
  const kinds = new Map();
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/);
      if (!args[0].includes('chromium')) continue;
      const type = args.find((a) => a.startsWith('--type='))?.slice(7) ?? 'browser';
      const sub = args.find((a) => a.startsWith('--utility-sub-type='))?.slice(19).split('.').pop() ?? '';
      const renderer = args.some((a) => a.startsWith('--extension-process')) ? 'renderer(extension)' : 'renderer(page)';
      kinds.set(pid, type === 'renderer' ? renderer : sub ? `${type}:${sub}` : type);
    } catch { /* gone */ }
  }
  return kinds;
}

/** CPU ticks (user + system, 1/100 s each) of a process or thread's stat file; 0 if it is gone. */
export function cpuTicks(statPath) {
  try {
    const stat = readFileSync(statPath, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

/** The user-data-dir of the Chromium browser process `pid` belongs to (walking up its parents). */
export function profileOf(pid) {
  for (let p = String(pid), hops = 0; p && p !== '1' && hops < 8; hops++) {
    try {
      const args = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      // Playwright passes a directory of its own first; Chromium takes the last one.
      const dir = args.findLast((a) => a.startsWith('--user-data-dir='));
      if (dir) return dir.slice(16);
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      p = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
    } catch {
      return null;
    }
  }
  return null;
}

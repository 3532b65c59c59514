// The machines' clock: milliseconds that never step. `Date.now()` follows the wall clock, which
// NTP, a virtual machine's host or a laptop's resume may move by seconds at any moment: a step
// back holds every timer, a step forward fires them all (in one relay test run here frames
// stamped with it showed a 3 s hole their presentation times did not, and a crashed parent's
// children took 3.4 s to switch, not 0.3). This one is monotonic within the page and starts at the wall clock's reading
// when the page loaded, so times saved by an earlier page (the broadcaster's tree) stay comparable.
export const clock = () => performance.timeOrigin + performance.now();

// The machines' clock: milliseconds that never step. `Date.now()` follows the wall clock, which
// NTP or a virtual machine's host may move by seconds at any moment: a step back held every
// timer (a crashed parent went unnoticed for 3.4 s in one relay test run), a step forward would
// fire them all. This one is monotonic within the page and starts at the wall clock's reading
// when the page loaded, so times saved by an earlier page (the broadcaster's tree) stay comparable.
export const clock = () => performance.timeOrigin + performance.now();

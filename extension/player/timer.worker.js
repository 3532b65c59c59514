// A steady clock for heartbeats and loss detection: timers in a background tab are throttled
// to once a second or less, a worker's are not.
let timer = null;
onmessage = (e) => {
  clearInterval(timer);
  if (e.data?.intervalMs > 0) timer = setInterval(() => postMessage(0), e.data.intervalMs);
};

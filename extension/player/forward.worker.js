// Pumps frames from the current upstream's track into the relay's generated track, each re-made
// with a fresh timestamp (see forwarder.js for why). Runs off the page's main thread, so a busy
// page (or one holding itself open while it leaves) still forwards every frame.
let writer = null;
let current = null;
let canvas = null;
let last = null; // the last frame forwarded, to send again on demand

onmessage = ({ data }) => {
  if (data.writable) { writer = data.writable.getWriter(); return; }
  if (data.repeat) { repeat(); return; }
  if (!('readable' in data)) return;
  const previous = current;
  current = data.readable ? data.readable.getReader() : null;
  previous?.cancel().catch(() => {});
  if (current) pump(current);
};

async function pump(reader) {
  for (;;) {
    let next;
    try { next = await reader.read(); } catch { return; }
    if (next.done) return;
    const frame = next.value;
    // A frame from an upstream we left, or one the encoder is not ready for: drop it (the next
    // one follows within a frame interval; queueing would only add delay).
    if (reader !== current || !writer || writer.desiredSize <= 0) { frame.close(); if (reader !== current) return; continue; }
    let copy = null;
    try {
      copy = await remake(frame);
      last?.close();
      last = copy.clone();
      writer.write(copy).catch(() => {});
    } catch {
      copy?.close();
    } finally {
      frame.close();
    }
  }
}

/**
 * The last picture again, stamped now: a child whose senders were just switched on gets its key
 * frame at once instead of at the next upstream frame (up to a frame interval later).
 */
function repeat() {
  if (!last || !writer || writer.desiredSize <= 0) return;
  try {
    writer.write(new VideoFrame(last, { timestamp: Math.round(performance.now() * 1000) })).catch(() => {});
  } catch { /* a closed frame: the next upstream frame follows */ }
}

/** The same picture as a new frame: a copy carries no capture time, so WebRTC stamps it now. */
async function remake(frame) {
  const timestamp = Math.round(performance.now() * 1000);
  if (frame.format) {
    const data = new Uint8Array(frame.allocationSize());
    const layout = await frame.copyTo(data);
    // The colour space goes along: without it the copy is read as another one, and every hop
    // shifted the picture's levels (5.3 dB of PSNR lost per hop, measured by the media benchmark).
    return new VideoFrame(data, {
      format: frame.format, codedWidth: frame.codedWidth, codedHeight: frame.codedHeight,
      visibleRect: frame.visibleRect, displayWidth: frame.displayWidth, displayHeight: frame.displayHeight,
      colorSpace: frame.colorSpace?.toJSON?.() ?? frame.colorSpace, layout, timestamp, transfer: [data.buffer],
    });
  }
  // A frame without readable pixels (a GPU texture): draw it.
  canvas ??= new OffscreenCanvas(frame.displayWidth, frame.displayHeight);
  if (canvas.width !== frame.displayWidth || canvas.height !== frame.displayHeight) Object.assign(canvas, { width: frame.displayWidth, height: frame.displayHeight });
  canvas.getContext('2d').drawImage(frame, 0, 0);
  return new VideoFrame(canvas, { timestamp });
}

// Pumps frames from the current upstream's track (or the broadcaster's source) into the generated
// track that children receive and the player shows; a relay's frames each re-made with a fresh
// timestamp (see forwarder.js for why). Runs off the page's main thread, so a busy page still
// forwards every frame.
//
// Every upstream with a track is read, not only the current one: the newest frame of each other
// one is held, so a switch to it forwards that frame at once. The frame that told the page a
// standby delivers is then the first one shown, instead of the standby's next (up to a frame
// interval later: 83 ms at 12 fps).
let writer = null;
let restamp = true;
const sources = new Map(); // key -> { reader, held: {frame, at} | null }
let current = null; // key of the source forwarded
let intended = null; // key of the source the page chose (`use`)
// An upstream just asked to send: it takes over at its first frame, without waiting for the page
// to notice its media (a poll and a message away, more on a busy page). The page's own switch
// follows as a `use` of the same key; a `prefer` of null returns to the page's choice.
let preferred = null;
let canvas = null;
let last = null; // the last frame forwarded, to send again on demand

// A held frame older than this is stale: the switch waits for the next one instead.
const HELD_FRESH_MS = 250;

onmessage = ({ data }) => {
  if (data.writable) { writer = data.writable.getWriter(); restamp = data.restamp !== false; return; }
  if (data.repeat) { repeat(); return; }
  if (data.watch !== undefined) { watch(data.watch, data.readable); return; }
  if (data.forget !== undefined) { forget(data.forget); return; }
  if (data.prefer !== undefined) { prefer(data.prefer); return; }
  if (data.use !== undefined) use(data.use);
};

function watch(key, readable) {
  forget(key);
  const source = { reader: readable.getReader(), held: null };
  sources.set(key, source);
  pump(key, source);
}

function forget(key) {
  if (preferred === key) preferred = null;
  const source = sources.get(key);
  if (!source) return;
  sources.delete(key);
  source.held?.frame.close();
  source.reader.cancel().catch(() => {});
  // Taken by preference and gone before the page chose it: back to the page's choice.
  if (current === key && intended !== key) switchTo(intended);
}

/** The page's choice: `key`'s frames from now on (null: none). */
function use(key) {
  intended = key;
  preferred = null;
  switchTo(key);
}

function prefer(key) {
  preferred = key;
  if (key === null && current !== intended) switchTo(intended);
}

/** Forwards `key`'s frames from now on, starting with its held one if fresh. */
function switchTo(key) {
  current = key;
  const source = sources.get(key);
  const held = source?.held;
  if (!held) return;
  source.held = null;
  if (performance.now() - held.at > HELD_FRESH_MS) { held.frame.close(); return; }
  forward(held.frame);
}

async function pump(key, source) {
  for (;;) {
    let next;
    try { next = await source.reader.read(); } catch { return; }
    if (next.done || sources.get(key) !== source) { next.value?.close(); return; }
    const frame = next.value;
    if (key === preferred) {
      preferred = null;
      current = key;
      // The page looks at its media now (its own polls wait for the WebRTC thread).
      postMessage({ took: key });
    }
    if (key !== current) {
      source.held?.frame.close();
      source.held = { frame, at: performance.now() };
      continue;
    }
    await forward(frame);
  }
}

/** Writes `frame` (closing it) to the generated track, re-made or as it is. */
async function forward(frame) {
  // The encoder is not ready for it: drop it (the next one follows within a frame interval;
  // queueing would only add delay).
  if (!writer || writer.desiredSize <= 0) { frame.close(); return; }
  let out = frame;
  try {
    if (restamp) out = await remake(frame);
    // Kept, for `repeat`.
    last?.close();
    last = out.clone();
    writer.write(out).catch(() => {});
  } catch {
    out.close();
  } finally {
    if (out !== frame) frame.close();
  }
}

/**
 * The last picture again, stamped now: a child whose senders were just switched on gets its key
 * frame at once instead of at the next upstream frame (up to a frame interval later).
 */
function repeat() {
  if (!last || !writer || writer.desiredSize <= 0) return;
  try {
    // A source's frame keeps its stamp (a later one would make the encoder drop what follows).
    const timestamp = restamp ? Math.round(performance.now() * 1000) : last.timestamp;
    writer.write(new VideoFrame(last, { timestamp })).catch(() => {});
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

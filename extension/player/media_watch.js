// When media arriving on an upstream edge counts for the machine (its `media` event). Pure, so
// that it is tested without a browser (tests/unit/media_watch.test.mjs).

// Quiet this long, an edge whose media comes again has resumed (the unpark of a standby).
export const MEDIA_RESUMED_AFTER_MS = 500;
// Media that starts or resumes while the current upstream still plays counts once a video frame
// is decoded (switching to it before then shows nothing until its key frame), or after this long
// with audio only (a source with no picture, or one that paints rarely).
export const FIRST_FRAME_WAIT_MS = 1000;
// An upstream whose media changed this recently still plays (its audio alone changes every 20 ms;
// a leaving parent's stops with its tab, so a standby's first media after a leave counts at once).
export const CURRENT_PLAYS_MS = 120;

/**
 * `last`: what we noted of this edge ({mark, at, video, waitingSince?}, or undefined); `marks`:
 * its marks now (Edge.mediaMarks); `current`: what we noted of the upstream we play, if it is
 * another edge. Returns null when nothing new arrived, else `{ entry, media, started }`: the note
 * to keep, whether the machine hears of media, and whether it started or resumed (logged).
 */
export function mediaVerdict(last, marks, current, now) {
  if (marks === null || marks.all === last?.mark) return null;
  const started = !last?.mark || now - last.at > MEDIA_RESUMED_AFTER_MS;
  if (started) {
    // Our upstream still plays: wait for a picture, within a bound. The machine switches on this
    // event, and until then the old upstream keeps playing.
    const waitingSince = last?.waitingSince ?? now;
    const currentPlays = current?.mark && now - current.at < CURRENT_PLAYS_MS;
    const noNewFrame = marks.video === null || marks.video === last?.video;
    if (currentPlays && noNewFrame && now - waitingSince < FIRST_FRAME_WAIT_MS) {
      return { entry: { ...last, waitingSince }, media: false, started: false };
    }
  }
  return { entry: { mark: marks.all, at: now, video: marks.video }, media: true, started };
}

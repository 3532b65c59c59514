// The streamer's capture sources besides the test pattern.

/** Opens screen/window/tab capture ('screen') or camera and microphone ('camera'). */
export async function openCapture(kind) {
  const md = navigator.mediaDevices;
  const stream = kind === 'camera'
    ? await md.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 720 } }, audio: true })
    : await md.getDisplayMedia({ video: { frameRate: { ideal: 30 } }, audio: true });
  // Said outright: the encoder tunes for screen content by it (sharpness over motion), also
  // once the video passes through the forwarder's generated track, which knows no source.
  const video = stream.getVideoTracks()[0];
  if (kind !== 'camera' && video && !video.contentHint) video.contentHint = 'detail';
  return { stream, stop: () => stream.getTracks().forEach((t) => t.stop()) };
}

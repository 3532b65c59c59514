// How this peer encodes the video it sends to a child: the settings' codec preference goes on the
// edge's video transceiver before the offer is made; the bitrate cap and the degradation preference
// go on the video sender's parameters. Every sending peer (broadcaster or relay) applies its own
// settings to its own edges: a relay caps its own upload, whatever its parent sends it.
//
// Facts from Chromium 156 (this project's machine):
// - setCodecPreferences called after createOffer() has been invoked does not change that offer,
//   even before the promise settles (the offer's options are taken when createOffer is called).
// - The offerer's codec order wins when the answerer has no preference of its own.
// - maxBitrate and degradationPreference survive replaceTrack(null) and replaceTrack(track) (park
//   and unpark, a new upstream), so they are set once per edge.

const MIME_TYPES = Object.freeze({ vp8: 'video/vp8', vp9: 'video/vp9', h264: 'video/h264', av1: 'video/av1' });

const isVideoCodec = (codec, name) => codec?.mimeType?.toLowerCase() === MIME_TYPES[name];

/**
 * The codec list for RTCRtpTransceiver.setCodecPreferences with every entry of `codec` first
 * (profiles, and RTX/RED/FEC kept in place after), or null when there is nothing to prefer:
 * 'auto', an unknown name, or a codec this browser cannot both send (`sendable`) and negotiate
 * (`codecs`, the receiver's capabilities, which is what Chromium checks preferences against).
 */
export function preferredCodecs(codec, codecs, sendable) {
  if (!MIME_TYPES[codec] || !Array.isArray(codecs) || !Array.isArray(sendable)) return null;
  if (!sendable.some((c) => isVideoCodec(c, codec))) return null;
  const first = codecs.filter((c) => isVideoCodec(c, codec));
  if (first.length === 0) return null;
  return [...first, ...codecs.filter((c) => !isVideoCodec(c, codec))];
}

/** The browser's video capabilities: { codecs (receiver's), sendable (sender's) }, or null. */
function videoCapabilities() {
  const codecs = globalThis.RTCRtpReceiver?.getCapabilities?.('video')?.codecs;
  const sendable = globalThis.RTCRtpSender?.getCapabilities?.('video')?.codecs;
  return codecs && sendable ? { codecs, sendable } : null;
}

/** Puts `codec` first on every video transceiver of `pc`. Returns a note when it could not. */
export function preferCodec(pc, codec) {
  if (codec === 'auto') return null;
  const caps = videoCapabilities();
  const order = caps && preferredCodecs(codec, caps.codecs, caps.sendable);
  if (!order) return `codec ${codec} cannot be sent by this browser: using the browser's choice`;
  const video = pc.getTransceivers().filter((t) => t.receiver.track?.kind === 'video');
  if (video.length === 0 || typeof video[0].setCodecPreferences !== 'function') {
    return `codec preferences are not supported here: using the browser's choice for ${codec}`;
  }
  try {
    for (const t of video) t.setCodecPreferences(order);
  } catch (err) {
    return `codec ${codec} refused (${err?.message ?? err}): using the browser's choice`;
  }
  return null;
}

/**
 * Runs `makeCall` (a PeerJS call(), which builds its RTCPeerConnection, adds the tracks and calls
 * createOffer all synchronously, with no hook of its own in between) with `codec` preferred on
 * the connection's video transceiver just before its offer is created. The hook lives only for
 * that synchronous call, so no other connection can see it. Never throws for the codec: a codec
 * that cannot be applied leaves the browser's choice, and `note(text)` says why.
 */
export function callWithCodec(makeCall, codec, note) {
  if (codec === 'auto' || typeof RTCPeerConnection === 'undefined') return makeCall();
  const proto = RTCPeerConnection.prototype;
  const createOffer = proto.createOffer;
  let applied = false;
  proto.createOffer = function createOfferWithCodec(...args) {
    if (!applied) {
      applied = true;
      try {
        const problem = preferCodec(this, codec);
        if (problem) note(problem);
      } catch (err) {
        note(`codec ${codec} not applied: ${err?.message ?? err}`);
      }
    }
    return createOffer.apply(this, args);
  };
  let call;
  try {
    call = makeCall();
  } finally {
    proto.createOffer = createOffer;
  }
  if (call && !applied) note(`codec ${codec} not applied: the offer was not made during call()`);
  return call;
}

/**
 * Sets the bitrate cap (per child) and the degradation preference on `pc`'s video senders.
 * Resolves to a note when something was refused (the edge keeps working either way), else null.
 */
export async function applySendParameters(pc, { maxKbps, degradation }) {
  const problems = [];
  // A parked sender has no track: the transceiver's receiver track tells its kind.
  const senders = pc.getTransceivers().filter((t) => t.receiver.track?.kind === 'video').map((t) => t.sender);
  for (const sender of senders) {
    const withCap = () => {
      const params = sender.getParameters();
      for (const encoding of params.encodings ?? []) encoding.maxBitrate = maxKbps * 1000;
      return params;
    };
    try {
      await sender.setParameters({ ...withCap(), degradationPreference: degradation });
    } catch (err) {
      // A browser without degradationPreference support may refuse it: keep at least the cap.
      try {
        await sender.setParameters(withCap());
        problems.push(`degradation preference ${degradation} refused (${err?.message ?? err})`);
      } catch (err2) {
        problems.push(`send parameters refused: ${err2?.message ?? err2}`);
      }
    }
  }
  return problems.length ? problems.join('; ') : null;
}

// The player's own controls: volume and mute (remembered), picture-in-picture, fullscreen,
// and the state badge. Keys pressed here stay here: the page's shortcuts are never triggered.

const api = () => globalThis.browser ?? globalThis.chrome;

export async function setupControls(video, t) {
  const mute = document.getElementById('mute');
  const volume = document.getElementById('volume');
  const saved = (await api().storage.local.get('player')).player ?? { volume: 0.8, muted: true };
  video.volume = saved.volume;
  video.muted = saved.muted;
  volume.value = String(saved.volume);
  const remember = () => api().storage.local.set({ player: { volume: video.volume, muted: video.muted } });
  const showMute = () => { mute.textContent = video.muted ? '🔇' : '🔊'; };
  showMute();
  mute.addEventListener('click', () => { video.muted = !video.muted; showMute(); remember(); });
  volume.addEventListener('input', () => {
    video.volume = Number(volume.value);
    if (video.volume > 0 && video.muted) { video.muted = false; showMute(); }
    remember();
  });
  document.getElementById('pip').addEventListener('click', async () => {
    try {
      if (document.pictureInPictureElement) await document.exitPictureInPicture();
      else await video.requestPictureInPicture();
    } catch { /* not available in this browser or state */ }
  });
  document.getElementById('fullscreen').addEventListener('click', () => {
    if (document.fullscreenElement) document.exitFullscreen();
    else document.documentElement.requestFullscreen().catch(() => {});
  });
  video.addEventListener('dblclick', () => document.getElementById('fullscreen').click());
  document.addEventListener('keydown', (e) => e.stopPropagation(), true);

  const badge = document.getElementById('badge');
  const state = document.getElementById('badge-state');
  const depth = document.getElementById('badge-depth');
  const below = document.getElementById('badge-below');
  const stateKeys = {
    waiting: 'stateWaiting', joining: 'stateJoining', playing: 'statePlaying', repairing: 'stateRepairing',
    left: 'stateLeft', broadcasting: 'stateBroadcasting', idle: 'stateIdle',
  };
  return {
    /** Shows the node's state, its depth in the tree and how many viewers it feeds (directly or not). */
    badge({ state: s, depth: d, below: n }) {
      badge.dataset.state = s;
      state.textContent = t(stateKeys[s] ?? 'stateWaiting');
      depth.textContent = d == null ? '' : `${t('depth')} ${d}`;
      below.textContent = n ? `${t('viewersBelow')} ${n}` : '';
    },
    notice(text) {
      const el = document.getElementById('notice');
      el.hidden = !text;
      el.textContent = text ?? '';
    },
  };
}

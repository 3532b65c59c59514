// Reads what treecast needs from a Niconico live watch page.
// All knowledge of the page's markup lives here, so a page change is a one-file fix.
// The page is untrusted: every field is type-checked and nothing here throws.
(() => {
  'use strict';

  const STATUSES = new Set(['ON_AIR', 'BEFORE_RELEASE', 'RELEASED', 'ENDED']);
  // Treecast relays a streamer's own video; channel and official programs have no such streamer.
  const UNSUPPORTED_PROVIDERS = new Set(['channel', 'official']);
  const PROGRAM_ID = /^lv[0-9]{1,15}$/;
  const USER_ID = /^[0-9]{1,20}$/;
  const MAX_TITLE = 300;
  // The streamer's verification code in the program description (see extension/shared/verify.js).
  const VERIFY_CODE = /treecast:([0-9A-HJKMNP-TV-Z]{4})-([0-9A-HJKMNP-TV-Z]{4})-([0-9A-HJKMNP-TV-Z]{4})-([0-9A-HJKMNP-TV-Z]{4})/i;
  const MAX_DESCRIPTION = 100000;

  const fail = (reason, extra) => ({ ok: false, reason, ...extra });

  const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);

  // Niconico user ids are decimal strings; accept a safe integer too, since a page
  // change could turn them into numbers.
  function userIdOrNull(value) {
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) value = String(value);
    return typeof value === 'string' && USER_ID.test(value) ? value : null;
  }

  // The program id in the URL, if the URL names one (watch URLs may also name a community or channel).
  function programIdInPath(doc) {
    const path = doc && doc.location && doc.location.pathname;
    if (typeof path !== 'string') return { known: false };
    if (!path.startsWith('/watch/')) return { known: true, watchPage: false };
    const match = /^\/watch\/(lv[0-9]+)/.exec(path);
    return { known: true, watchPage: true, programId: match ? match[1] : null };
  }

  function readProps(doc) {
    const element = doc.getElementById('embedded-data');
    if (!element || typeof element.getAttribute !== 'function') return fail('idleNoEmbeddedData');
    const text = element.getAttribute('data-props');
    if (typeof text !== 'string' || text.trim() === '') return fail('idleNoEmbeddedData');
    let props;
    try {
      props = JSON.parse(text);
    } catch {
      return fail('idleMalformedData');
    }
    return isObject(props) ? { ok: true, props } : fail('idleMalformedData');
  }

  function readPageData(doc) {
    try {
      const where = programIdInPath(doc);
      if (where.known && !where.watchPage) return fail('idleNotWatchPage');

      const read = readProps(doc);
      if (!read.ok) return read;
      const program = isObject(read.props.program) ? read.props.program : null;
      const user = isObject(read.props.user) ? read.props.user : {};
      if (!program) return fail('idleNoProgramId');

      const programId = program.nicoliveProgramId;
      if (typeof programId !== 'string' || programId === '') return fail('idleNoProgramId');
      if (!PROGRAM_ID.test(programId)) return fail('idleBadProgramId');
      // During in-page navigation the URL can change before the data does.
      if (where.programId && where.programId !== programId) return fail('idleProgramMismatch', { programId });

      const status = program.status;
      if (typeof status !== 'string' || !STATUSES.has(status)) return fail('idleBadStatus', { programId });
      if (status === 'ENDED') return fail('idleProgramEnded', { programId, status });

      if (typeof program.providerType === 'string' && UNSUPPORTED_PROVIDERS.has(program.providerType)) {
        return fail('idleNotUserProgram', { programId, status });
      }
      const supplier = isObject(program.supplier) ? program.supplier : {};
      const broadcasterUserId = userIdOrNull(supplier.programProviderId);
      if (!broadcasterUserId) return fail('idleNoBroadcaster', { programId, status });

      const viewerUserId = userIdOrNull(user.id);
      const title = typeof program.title === 'string' ? program.title.trim().slice(0, MAX_TITLE) : '';
      const description = typeof program.description === 'string' ? program.description.slice(0, MAX_DESCRIPTION) : '';
      const code = VERIFY_CODE.exec(description);
      return {
        ok: true,
        programId,
        title,
        status,
        broadcasterUserId,
        viewerUserId,
        isBroadcaster: user.isBroadcaster === true || viewerUserId === broadcasterUserId,
        isLoggedIn: user.isLoggedIn === true,
        verifyCode: code ? `treecast:${code.slice(1, 5).join('-').toUpperCase()}` : null,
      };
    } catch {
      // A hostile or half-built document (getters that throw, odd prototypes) must not break the extension.
      return fail('idleMalformedData');
    }
  }

  const api = { readPageData };
  globalThis.TreecastPageData = api;
  if (typeof module === 'object' && module && typeof module.exports === 'object') module.exports = api;
})();

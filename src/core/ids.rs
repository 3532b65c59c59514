//! Peer ids: the PeerJS ids every peer registers under, validated once at the edge.
//!
//! A `PeerId` is cheap to clone: ids of up to 30 bytes (every viewer id) are stored inline, so a
//! clone is a 32-byte copy with no heap access and no atomic count; longer ones share their text.

use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::Arc;

/// Longest id we accept (PeerJS has no limit; we bound memory and message size).
pub const MAX_PEER_ID_LEN: usize = 64;
/// Longest Niconico program id we accept (`lv` + digits).
pub const MAX_PROGRAM_ID_LEN: usize = 24;

/// Why a text is not an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdError {
    Empty,
    TooLong(usize),
    /// Not of the PeerJS form `^[A-Za-z0-9]+(?:[_-][A-Za-z0-9]+)*$`.
    BadShape,
    /// Not `lv` followed by digits.
    BadProgramId,
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdError::Empty => write!(f, "empty id"),
            IdError::TooLong(n) => write!(f, "id of {n} chars (max {MAX_PEER_ID_LEN})"),
            IdError::BadShape => write!(f, "id is not of the PeerJS form"),
            IdError::BadProgramId => write!(f, "program id is not lv + digits"),
        }
    }
}

/// Ids up to this many bytes are stored inline.
const INLINE_LEN: usize = 30;

/// A validated PeerJS id.
#[derive(Clone)]
pub struct PeerId(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, bytes: [u8; INLINE_LEN] },
    Shared(Arc<str>),
}

impl PeerId {
    pub fn parse(text: &str) -> Result<PeerId, IdError> {
        check_peer_id(text)?;
        Ok(PeerId::from_checked(text))
    }

    fn from_checked(text: &str) -> PeerId {
        if text.len() <= INLINE_LEN {
            let mut bytes = [0u8; INLINE_LEN];
            bytes[..text.len()].copy_from_slice(text.as_bytes());
            PeerId(Repr::Inline { len: text.len() as u8, bytes })
        } else {
            PeerId(Repr::Shared(Arc::from(text)))
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ever built from a checked (ASCII) text, so this never fails.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => &bytes[..*len as usize],
            Repr::Shared(text) => text.as_bytes(),
        }
    }
}

impl PartialEq for PeerId {
    fn eq(&self, other: &PeerId) -> bool {
        match (&self.0, &other.0) {
            // Unused inline bytes are zero, so whole arrays compare (no length-dependent loop).
            (Repr::Inline { len: a, bytes: x }, Repr::Inline { len: b, bytes: y }) => a == b && x == y,
            _ => self.as_bytes() == other.as_bytes(),
        }
    }
}

impl Eq for PeerId {}

impl std::hash::Hash for PeerId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write(self.as_bytes());
        state.write_u8(0xff);
    }
}

impl PartialOrd for PeerId {
    fn partial_cmp(&self, other: &PeerId) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PeerId {
    fn cmp(&self, other: &PeerId) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

fn check_peer_id(text: &str) -> Result<(), IdError> {
    if text.is_empty() {
        return Err(IdError::Empty);
    }
    if text.len() > MAX_PEER_ID_LEN {
        return Err(IdError::TooLong(text.len()));
    }
    // Alphanumeric runs joined by single '_' or '-', never at either end.
    let mut previous_was_separator = true;
    for b in text.bytes() {
        let separator = b == b'_' || b == b'-';
        if separator && previous_was_separator {
            return Err(IdError::BadShape);
        }
        if !separator && !b.is_ascii_alphanumeric() {
            return Err(IdError::BadShape);
        }
        previous_was_separator = separator;
    }
    if previous_was_separator {
        return Err(IdError::BadShape);
    }
    Ok(())
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for PeerId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for PeerId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        PeerId::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Checks a Niconico program id: `lv` followed by 1..=22 digits.
pub fn check_program_id(program_id: &str) -> Result<(), IdError> {
    let digits = program_id.strip_prefix("lv").ok_or(IdError::BadProgramId)?;
    if digits.is_empty()
        || program_id.len() > MAX_PROGRAM_ID_LEN
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(IdError::BadProgramId);
    }
    Ok(())
}

/// The broadcaster's id for a program: stable across reloads (viewers find it again), yet the
/// Niconico user id cannot be read back from it (hashed, domain-separated).
pub fn broadcaster_peer_id(program_id: &str, broadcaster_user_id: &str) -> Result<PeerId, IdError> {
    check_program_id(program_id)?;
    let mut hash = Sha256::new();
    hash.update(b"treecast/v1/");
    hash.update(program_id.as_bytes());
    hash.update(b"/");
    hash.update(broadcaster_user_id.as_bytes());
    let digest = hash.finalize();
    let mut text = format!("tc-{program_id}-");
    push_hex(&mut text, &digest[..8]);
    PeerId::parse(&text)
}

/// A viewer's id: fresh randomness (supplied by the caller) per page, so one user can watch in
/// several windows and no user id is exposed.
pub fn viewer_peer_id(random: [u8; 12]) -> PeerId {
    let mut text = String::with_capacity(5 + 24);
    text.push_str("tc-v-");
    push_hex(&mut text, &random);
    PeerId::from_checked(&text)
}

/// Where a viewer id's random bytes start: after `tc-v-`.
const VIEWER_PREFIX: &[u8; 5] = b"tc-v-";
const VIEWER_LEN: usize = VIEWER_PREFIX.len() + 24;

impl PeerId {
    /// The 12 random bytes of a viewer id (`tc-v-` and 24 lowercase hex digits, as
    /// `viewer_peer_id` makes them); None for any other id. The coordinator keeps ids in this
    /// form inside its tree nodes (12 bytes, not 32) and rebuilds the text to name them.
    ///
    /// Whole words and fixed indices only, no slice copies or iterators: the wasm build
    /// (opt-level "s") left those as calls, and naming ids then cost more than the rest of an
    /// event there.
    #[inline]
    pub fn viewer_bytes(&self) -> Option<[u8; 12]> {
        let Repr::Inline { len, bytes: b } = &self.0 else { return None };
        if *len as usize != VIEWER_LEN || [b[0], b[1], b[2], b[3], b[4]] != *VIEWER_PREFIX {
            return None;
        }
        let word = |at: usize| u64::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4], b[at + 5], b[at + 6], b[at + 7]]);
        let [a0, a1, a2, a3] = hex_decode(word(5))?.to_le_bytes();
        let [b0, b1, b2, b3] = hex_decode(word(13))?.to_le_bytes();
        let [c0, c1, c2, c3] = hex_decode(word(21))?.to_le_bytes();
        Some([a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3])
    }

    /// The viewer id whose `viewer_bytes` are `random` (the same id `viewer_peer_id` makes),
    /// built in place: no heap, no check, no loop (see `viewer_bytes`).
    #[inline]
    pub fn from_viewer_bytes(random: &[u8; 12]) -> PeerId {
        let r = random;
        let a = hex_encode(u32::from_le_bytes([r[0], r[1], r[2], r[3]])).to_le_bytes();
        let b = hex_encode(u32::from_le_bytes([r[4], r[5], r[6], r[7]])).to_le_bytes();
        let c = hex_encode(u32::from_le_bytes([r[8], r[9], r[10], r[11]])).to_le_bytes();
        let [p0, p1, p2, p3, p4] = *VIEWER_PREFIX;
        #[rustfmt::skip]
        let bytes = [
            p0, p1, p2, p3, p4,
            a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7],
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
            0,
        ];
        PeerId(Repr::Inline { len: VIEWER_LEN as u8, bytes })
    }
}

// Hex digits eight at a time in a u64, one per byte (first digit in the lowest byte).
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The 4 bytes of 8 lowercase hex digits, None if any is not one.
#[inline]
fn hex_decode(chars: u64) -> Option<u32> {
    // For ASCII bytes c, c + k sets the byte's high bit exactly when c >= 0x80 - k (no carry
    // leaves a byte).
    let at_least = |c: u8| chars.wrapping_add((0x80 - c as u64) * ONES) & HIGH_BITS;
    let digits = at_least(b'0') & !at_least(b'9' + 1);
    let letters = at_least(b'a') & !at_least(b'f' + 1);
    if chars & HIGH_BITS != 0 || (digits | letters) != HIGH_BITS {
        return None;
    }
    let nibbles = (chars & (0x0f * ONES)) + (letters >> 7) * 9;
    // Pairs of digits to bytes, then the bytes together.
    let x = (nibbles << 4 | nibbles >> 8) & 0x00ff_00ff_00ff_00ff;
    let x = (x | x >> 8) & 0x0000_ffff_0000_ffff;
    Some((x | x >> 16) as u32)
}

/// The 8 lowercase hex digits of the 4 bytes of `x` (`hex_decode`'s inverse: each byte's high
/// digit first, the first byte's in the lowest byte). Natively from a table of digit pairs (fewer
/// instructions: cachegrind, 100k run, 754 fewer a churn event); in wasm computed in the word
/// (the table form measured slower in Chromium: 100k joins 0.214 against 0.186 s, median of 5).
#[inline]
fn hex_encode(x: u32) -> u64 {
    if cfg!(target_arch = "wasm32") {
        hex_encode_in_word(x)
    } else {
        hex_encode_by_table(x)
    }
}

#[inline]
fn hex_encode_by_table(x: u32) -> u64 {
    let [a, b, c, d] = x.to_le_bytes();
    let t = &HEX_PAIRS;
    t[a as usize] as u64 | (t[b as usize] as u64) << 16 | (t[c as usize] as u64) << 32 | (t[d as usize] as u64) << 48
}

#[inline]
fn hex_encode_in_word(x: u32) -> u64 {
    // Byte k of x to byte 2k; there its high nibble stays and its low one moves up a byte.
    let x = x as u64;
    let x = (x | x << 16) & 0x0000_ffff_0000_ffff;
    let x = (x | x << 8) & 0x00ff_00ff_00ff_00ff;
    let nibbles = (x >> 4 & 0x000f_000f_000f_000f) | (x & 0x000f_000f_000f_000f) << 8;
    // '0' + n, and 39 more ('a' - '0' - 10) where n >= 10, that is where n + 6 reaches 16.
    let letters = (nibbles + 6 * ONES) >> 4 & ONES;
    nibbles + b'0' as u64 * ONES + letters * 39
}

/// The two lowercase hex digits of each byte, the high one in the low byte.
static HEX_PAIRS: [u16; 256] = {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut t = [0u16; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = HEX[b >> 4] as u16 | (HEX[b & 15] as u16) << 8;
        b += 1;
    }
    t
};

fn push_hex(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_peerjs_shapes() {
        for ok in ["a", "A9", "tc-v-00ff", "a_b-c", "x".repeat(64).as_str()] {
            assert!(PeerId::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_bad_shapes() {
        assert_eq!(PeerId::parse(""), Err(IdError::Empty));
        assert_eq!(PeerId::parse(&"x".repeat(65)), Err(IdError::TooLong(65)));
        for bad in ["-a", "a-", "a--b", "a_-b", "a b", "a.b", "é", "a\n", "_"] {
            assert_eq!(PeerId::parse(bad), Err(IdError::BadShape), "{bad:?}");
        }
    }

    #[test]
    fn program_ids() {
        assert!(check_program_id("lv123").is_ok());
        for bad in ["lv", "123", "lv12a", "LV1", "lv-1", &format!("lv{}", "1".repeat(23))] {
            assert!(check_program_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn broadcaster_id_is_stable_and_hides_the_user() {
        let a = broadcaster_peer_id("lv42", "12345").unwrap();
        assert_eq!(a, broadcaster_peer_id("lv42", "12345").unwrap());
        assert_ne!(a, broadcaster_peer_id("lv42", "12346").unwrap());
        assert!(a.as_str().starts_with("tc-lv42-"));
        assert_eq!(a.as_str().len(), "tc-lv42-".len() + 16);
        assert!(!a.as_str().contains("12345"));
        assert!(broadcaster_peer_id("42", "1").is_err());
    }

    #[test]
    fn inline_and_shared_ids_compare_by_text() {
        let short = PeerId::parse("tc-v-abababababababababababab").unwrap();
        assert!(matches!(short.0, Repr::Inline { .. }));
        let long = PeerId::parse(&"x".repeat(64)).unwrap();
        assert!(matches!(long.0, Repr::Shared(_)));
        assert_eq!(long.as_str(), "x".repeat(64));
        assert_eq!(long.clone(), long);
        assert_ne!(short, long);
        assert!(short < long);
        assert_eq!(std::mem::size_of::<PeerId>(), 32);
    }

    #[test]
    fn viewer_bytes_round_trip() {
        let random = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xf0, 0x0f, 0x5a, 0xa5];
        let id = viewer_peer_id(random);
        assert_eq!(id.viewer_bytes(), Some(random));
        assert_eq!(PeerId::from_viewer_bytes(&random), id);
        assert_eq!(PeerId::from_viewer_bytes(&random).as_str(), id.as_str());
        for other in ["tc-v-0123456789ABCDEF01234567", "tc-v-0123456789abcdef0123456", "tc-v-0123456789abcdef012345678", "tc-w-0123456789abcdef01234567", "tc-v-0123456789abcdeg01234567", "v1", "tc-lv1-0123456789abcdef"] {
            assert_eq!(PeerId::parse(other).unwrap().viewer_bytes(), None, "{other}");
        }
    }

    #[test]
    fn hex_eight_at_a_time_matches_digit_by_digit() {
        let digit = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2_000 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let x = rng as u32;
            assert_eq!(hex_encode_by_table(x), hex_encode_in_word(x));
            let text = hex_encode(x).to_le_bytes();
            assert_eq!(&text, format!("{:08x}", x.swap_bytes()).as_bytes());
            assert_eq!(hex_decode(u64::from_le_bytes(text)), Some(x));
            // Every ASCII byte at one place: decoded as the scalar rule says.
            let at = (rng >> 40) as usize % 8;
            for c in 0..128u8 {
                let mut t = text;
                t[at] = c;
                let want = t.iter().map(|&c| digit(c)).collect::<Option<Vec<u8>>>().map(|d| {
                    u32::from_le_bytes([d[0] << 4 | d[1], d[2] << 4 | d[3], d[4] << 4 | d[5], d[6] << 4 | d[7]])
                });
                assert_eq!(hex_decode(u64::from_le_bytes(t)), want, "{:?}", t);
            }
        }
    }

    #[test]
    fn viewer_ids_are_valid() {
        let id = viewer_peer_id([0xab; 12]);
        assert_eq!(id.as_str(), "tc-v-abababababababababababab");
        assert!(PeerId::parse(id.as_str()).is_ok());
    }
}

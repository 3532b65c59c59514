//! The wire protocol: one versioned message set for every peer role.
//!
//! Every message is a JSON object `{"v":1,"t":"<tag>", ...fields}`. Through the PeerServer it is
//! the PeerJS `payload` (the server keeps only `type`, `src`, `dst`, `payload` and sets `src`
//! itself, so the sender is the server's `src`, never a field of ours); on a tree edge it is the
//! same text on the edge's RTCDataChannel.
//!
//! | tag           | direction                  | fields                                   | meaning |
//! |---------------|----------------------------|------------------------------------------|---------|
//! | `join`        | viewer -> coordinator      | `slots`, `at?` {`parent?`, `standby?`}   | place me (`slots` = children I can feed; `at` = where I already sit, after a broadcaster restart) |
//! | `leave`       | viewer -> coordinator      |                                          | I am leaving (graceful) |
//! | `parent_lost` | viewer -> coordinator      | `parent`                                 | my primary parent went silent; I switched to my standby |
//! | `child_lost`  | viewer -> coordinator      | `child`                                  | a child of mine (primary or standby edge) went silent |
//! | `capacity`    | viewer -> coordinator      | `slots`                                  | my relay capacity changed |
//! | `assign`      | coordinator -> viewer      | `epoch`, `parent`, `standby?`, `depth`   | your position: accept offers from `parent` (primary) and `standby`; if `parent` was your standby, activate it; otherwise switch when its media flows (make-before-break) |
//! | `feed`        | coordinator -> viewer      | `epoch`, `child`, `role`                 | open an edge to `child` (`primary`: send media; `standby`: connected, tracks parked) |
//! | `drop`        | coordinator -> viewer      | `epoch`, `child`                         | `child` is no longer yours: close its edge once it closed it or after a grace period |
//! | `wait`        | coordinator -> viewer      | `epoch`, `retry_ms`                      | no place now; send `join` again after `retry_ms` |
//! | `hb`          | edge, both ways            | `seq`                                    | heartbeat (loss detection) |
//! | `activate`    | edge, child -> parent      |                                          | start sending media on this (standby) edge |
//! | `park`        | edge, child -> parent      |                                          | stop sending media, stay connected |
//! | `leaving`     | edge, parent -> children   |                                          | I leave soon: switch to your standby now |
//! | `epoch`       | edge, parent -> children   | `epoch`                                  | the coordinator's session changed: re-send `join` with `at` |
//! | `health`      | edge, child -> parent      | `me`, `lv?`, `r?`                        | about once a second: my figures, my subtree's health by level, some descendants' figures (see `core::health`) |
//!
//! Decoding is strict: size limit before parsing, unknown versions, tags, fields and types
//! rejected, numbers range-checked, ids validated. A rejected message changes no state.

use crate::core::health::{Figures, Level, Record};
use crate::core::ids::PeerId;
use serde::{Deserialize, Serialize};
use std::fmt;

pub const VERSION: u64 = 1;
/// Largest message accepted, checked before parsing.
pub const MAX_MESSAGE_BYTES: usize = 4096;
/// Largest relay capacity a viewer may announce.
pub const MAX_SLOTS: u8 = 16;
/// Bounds of `wait.retry_ms`.
pub const MAX_RETRY_MS: u32 = 60_000;

/// How a parent feeds a child on an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Media flows.
    Primary,
    /// Connected, sender tracks parked (null) until the child sends `activate`.
    Standby,
}

/// Where a viewer already sits, reported in `join` after the broadcaster restarted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Position {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<PeerId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standby: Option<PeerId>,
}

/// Every message of the protocol (see the module table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case", deny_unknown_fields)]
pub enum Message {
    Join {
        slots: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at: Option<Position>,
    },
    Leave {},
    ParentLost {
        parent: PeerId,
    },
    ChildLost {
        child: PeerId,
    },
    Capacity {
        slots: u8,
    },
    Assign {
        epoch: u32,
        parent: PeerId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        standby: Option<PeerId>,
        depth: u32,
    },
    Feed {
        epoch: u32,
        child: PeerId,
        role: Role,
    },
    Drop {
        epoch: u32,
        child: PeerId,
    },
    Wait {
        epoch: u32,
        retry_ms: u32,
    },
    Hb {
        seq: u32,
    },
    Activate {},
    Park {},
    Leaving {},
    Epoch {
        epoch: u32,
    },
    /// Health through the tree (bounds in `core::health`): `me` = the sender's own figures,
    /// `lv[i]` = viewers `i + 1` levels below it by health class, `r` = figures of some of them.
    Health {
        me: Figures,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        lv: Vec<Level>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        r: Vec<Record>,
    },
}

/// Why a message was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    TooLarge(usize),
    NotJson(String),
    NotAnObject,
    MissingVersion,
    UnsupportedVersion(String),
    MissingTag,
    /// Unknown tag, unknown field, wrong type, bad id, or number outside its type.
    Invalid(String),
    OutOfRange(&'static str),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::TooLarge(n) => write!(f, "message of {n} bytes (max {MAX_MESSAGE_BYTES})"),
            DecodeError::NotJson(e) => write!(f, "not JSON: {e}"),
            DecodeError::NotAnObject => write!(f, "not a JSON object"),
            DecodeError::MissingVersion => write!(f, "no version field v"),
            DecodeError::UnsupportedVersion(v) => write!(f, "unsupported version {v}"),
            DecodeError::MissingTag => write!(f, "no tag field t"),
            DecodeError::Invalid(e) => write!(f, "invalid message: {e}"),
            DecodeError::OutOfRange(field) => write!(f, "{field} out of range"),
        }
    }
}

impl Message {
    /// Parses and validates a message from the network.
    pub fn decode(text: &str) -> Result<Message, DecodeError> {
        if text.len() > MAX_MESSAGE_BYTES {
            return Err(DecodeError::TooLarge(text.len()));
        }
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| DecodeError::NotJson(e.to_string()))?;
        let serde_json::Value::Object(mut map) = value else {
            return Err(DecodeError::NotAnObject);
        };
        match map.remove("v") {
            None => return Err(DecodeError::MissingVersion),
            Some(v) if v.as_u64() == Some(VERSION) => {}
            Some(v) => return Err(DecodeError::UnsupportedVersion(v.to_string())),
        }
        if !map.get("t").is_some_and(|t| t.is_string()) {
            return Err(DecodeError::MissingTag);
        }
        let message: Message = serde_json::from_value(serde_json::Value::Object(map))
            .map_err(|e| DecodeError::Invalid(e.to_string()))?;
        message.check_ranges()?;
        Ok(message)
    }

    /// The JSON text of this message (with `v`).
    pub fn encode(&self) -> String {
        let mut value = serde_json::to_value(self).expect("messages always serialize");
        if let serde_json::Value::Object(map) = &mut value {
            map.insert("v".into(), VERSION.into());
        }
        value.to_string()
    }

    fn check_ranges(&self) -> Result<(), DecodeError> {
        match *self {
            Message::Health { ref me, ref lv, ref r } => crate::core::health::check(me, lv, r).map_err(DecodeError::OutOfRange),
            Message::Join { slots, .. } | Message::Capacity { slots } if slots > MAX_SLOTS => {
                Err(DecodeError::OutOfRange("slots"))
            }
            Message::Assign { epoch: 0, .. }
            | Message::Feed { epoch: 0, .. }
            | Message::Drop { epoch: 0, .. }
            | Message::Wait { epoch: 0, .. }
            | Message::Epoch { epoch: 0 } => Err(DecodeError::OutOfRange("epoch")),
            Message::Assign { depth: 0, .. } => Err(DecodeError::OutOfRange("depth")),
            Message::Wait { retry_ms, .. } if retry_ms == 0 || retry_ms > MAX_RETRY_MS => {
                Err(DecodeError::OutOfRange("retry_ms"))
            }
            _ => Ok(()),
        }
    }

    /// True for messages that travel through the PeerServer from a viewer to the coordinator.
    pub fn is_to_coordinator(&self) -> bool {
        matches!(
            self,
            Message::Join { .. }
                | Message::Leave {}
                | Message::ParentLost { .. }
                | Message::ChildLost { .. }
                | Message::Capacity { .. }
        )
    }

    /// True for messages the coordinator sends to a viewer through the PeerServer.
    pub fn is_from_coordinator(&self) -> bool {
        matches!(
            self,
            Message::Assign { .. } | Message::Feed { .. } | Message::Drop { .. } | Message::Wait { .. }
        )
    }

    /// True for messages that travel on a tree edge's data channel.
    pub fn is_edge(&self) -> bool {
        matches!(
            self,
            Message::Hb { .. }
                | Message::Activate {}
                | Message::Park {}
                | Message::Leaving {}
                | Message::Epoch { .. }
                | Message::Health { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> PeerId {
        PeerId::parse(s).unwrap()
    }

    fn all_messages() -> Vec<Message> {
        vec![
            Message::Join { slots: 2, at: None },
            Message::Join {
                slots: 0,
                at: Some(Position { parent: Some(id("p")), standby: Some(id("s")) }),
            },
            Message::Leave {},
            Message::ParentLost { parent: id("p") },
            Message::ChildLost { child: id("c") },
            Message::Capacity { slots: 16 },
            Message::Assign { epoch: 7, parent: id("p"), standby: None, depth: 3 },
            Message::Assign { epoch: 7, parent: id("p"), standby: Some(id("s")), depth: 1 },
            Message::Feed { epoch: 7, child: id("c"), role: Role::Standby },
            Message::Drop { epoch: 7, child: id("c") },
            Message::Wait { epoch: 7, retry_ms: 500 },
            Message::Hb { seq: u32::MAX },
            Message::Activate {},
            Message::Park {},
            Message::Leaving {},
            Message::Epoch { epoch: 9 },
        ]
    }

    #[test]
    fn every_message_round_trips() {
        for m in all_messages() {
            let text = m.encode();
            assert!(text.contains("\"v\":1"), "{text}");
            assert_eq!(Message::decode(&text), Ok(m.clone()), "{text}");
            let classes = [m.is_to_coordinator(), m.is_from_coordinator(), m.is_edge()];
            assert_eq!(classes.iter().filter(|c| **c).count(), 1, "{text}");
        }
    }

    #[test]
    fn wire_shape_is_flat() {
        assert_eq!(
            Message::Feed { epoch: 3, child: id("tc-v-1"), role: Role::Primary }.encode(),
            r#"{"child":"tc-v-1","epoch":3,"role":"primary","t":"feed","v":1}"#
        );
        assert_eq!(Message::decode(r#"{"v":1,"t":"leave"}"#), Ok(Message::Leave {}));
    }

    fn rejects(text: &str) -> DecodeError {
        Message::decode(text).expect_err(text)
    }

    #[test]
    fn rejects_oversized() {
        let big = format!(r#"{{"v":1,"t":"leave","x":"{}"}}"#, "a".repeat(MAX_MESSAGE_BYTES));
        assert!(matches!(rejects(&big), DecodeError::TooLarge(_)));
    }

    #[test]
    fn rejects_non_json_and_non_objects() {
        assert!(matches!(rejects("{"), DecodeError::NotJson(_)));
        assert!(matches!(rejects(""), DecodeError::NotJson(_)));
        assert_eq!(rejects("[1]"), DecodeError::NotAnObject);
        assert_eq!(rejects("\"join\""), DecodeError::NotAnObject);
    }

    #[test]
    fn rejects_bad_versions() {
        assert_eq!(rejects(r#"{"t":"leave"}"#), DecodeError::MissingVersion);
        for v in ["2", "0", "\"1\"", "1.5", "-1", "null"] {
            let text = format!(r#"{{"v":{v},"t":"leave"}}"#);
            assert!(matches!(rejects(&text), DecodeError::UnsupportedVersion(_)), "{text}");
        }
    }

    #[test]
    fn rejects_missing_or_unknown_tags() {
        assert_eq!(rejects(r#"{"v":1}"#), DecodeError::MissingTag);
        assert_eq!(rejects(r#"{"v":1,"t":3}"#), DecodeError::MissingTag);
        assert!(matches!(rejects(r#"{"v":1,"t":"reset_all"}"#), DecodeError::Invalid(_)));
        assert!(matches!(rejects(r#"{"v":1,"t":"Join","slots":1}"#), DecodeError::Invalid(_)));
    }

    #[test]
    fn rejects_unknown_fields() {
        for text in [
            r#"{"v":1,"t":"leave","x":1}"#,
            r#"{"v":1,"t":"join","slots":1,"admin":true}"#,
            r#"{"v":1,"t":"join","slots":1,"at":{"parent":"p","children":[]}}"#,
            r#"{"v":1,"t":"hb","seq":1,"src":"x"}"#,
        ] {
            assert!(matches!(rejects(text), DecodeError::Invalid(_)), "{text}");
        }
    }

    #[test]
    fn rejects_wrong_types_and_missing_fields() {
        for text in [
            r#"{"v":1,"t":"join"}"#,
            r#"{"v":1,"t":"join","slots":"2"}"#,
            r#"{"v":1,"t":"join","slots":2.0}"#,
            r#"{"v":1,"t":"join","slots":null}"#,
            r#"{"v":1,"t":"join","slots":1,"at":"p"}"#,
            r#"{"v":1,"t":"feed","epoch":1,"child":"c","role":"boss"}"#,
            r#"{"v":1,"t":"hb","seq":[1]}"#,
            r#"{"v":1,"t":"parent_lost","parent":5}"#,
        ] {
            assert!(matches!(rejects(text), DecodeError::Invalid(_)), "{text}");
        }
    }

    #[test]
    fn rejects_numbers_out_of_range() {
        for text in [
            r#"{"v":1,"t":"join","slots":-1}"#,
            r#"{"v":1,"t":"join","slots":256}"#,
            r#"{"v":1,"t":"hb","seq":4294967296}"#,
            r#"{"v":1,"t":"hb","seq":1e3}"#,
        ] {
            assert!(matches!(rejects(text), DecodeError::Invalid(_)), "{text}");
        }
        for (text, field) in [
            (r#"{"v":1,"t":"join","slots":17}"#, "slots"),
            (r#"{"v":1,"t":"capacity","slots":200}"#, "slots"),
            (r#"{"v":1,"t":"assign","epoch":0,"parent":"p","depth":1}"#, "epoch"),
            (r#"{"v":1,"t":"assign","epoch":1,"parent":"p","depth":0}"#, "depth"),
            (r#"{"v":1,"t":"wait","epoch":1,"retry_ms":0}"#, "retry_ms"),
            (r#"{"v":1,"t":"wait","epoch":1,"retry_ms":60001}"#, "retry_ms"),
            (r#"{"v":1,"t":"epoch","epoch":0}"#, "epoch"),
        ] {
            assert_eq!(rejects(text), DecodeError::OutOfRange(field), "{text}");
        }
    }

    #[test]
    fn rejects_malformed_ids() {
        for text in [
            r#"{"v":1,"t":"parent_lost","parent":""}"#,
            r#"{"v":1,"t":"parent_lost","parent":"a b"}"#,
            r#"{"v":1,"t":"child_lost","child":"-x"}"#,
            r#"{"v":1,"t":"drop","epoch":1,"child":"a/../b"}"#,
        ] {
            assert!(matches!(rejects(text), DecodeError::Invalid(_)), "{text}");
        }
        let long = format!(r#"{{"v":1,"t":"parent_lost","parent":"{}"}}"#, "a".repeat(65));
        assert!(matches!(rejects(&long), DecodeError::Invalid(_)));
    }
}

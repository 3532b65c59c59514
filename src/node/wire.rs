//! What the driver reports and what it is asked to do.

use serde::{Deserialize, Serialize};

use crate::core::ids::PeerId;
use crate::core::protocol::Role;
use crate::core::viewer::Side;

/// Something that happened in the browser. Peer ids are plain text here: the driver got them
/// from the PeerServer (`src`, set by the server) or from edges it opened, and they are
/// validated before they reach a machine.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "e", rename_all = "snake_case", deny_unknown_fields)]
pub enum DriverEvent {
    /// The PeerServer socket is open (again).
    SignallingOpen,
    /// One of our messages arrived through the PeerServer.
    Signal { from: String, text: String },
    /// The PeerServer could not deliver to `peer` (it is not connected there).
    Expired { peer: String },
    /// `side`: `up` for an edge a parent feeds us on, `down` for one we feed a child on.
    EdgeOpen { peer: String, side: Side },
    EdgeClosed { peer: String, side: Side },
    EdgeMessage { peer: String, side: Side, text: String },
    /// Inbound media on the edge from `peer` advanced since the last report.
    Media { peer: String },
    Tick,
    Leave,
    Slots { slots: u8 },
    /// The player's picture since the previous sample (about once a second), see `core::health`.
    Health { fps: u32, gap_ms: u32, stalls: u32 },
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "c", rename_all = "snake_case")]
pub enum DriverCommand {
    /// Send `text` to `to` through the PeerServer.
    Signal { to: PeerId, text: String },
    /// Send `text` on the data channel of the edge with `peer`.
    EdgeSend { peer: PeerId, side: Side, text: String },
    /// Open an edge to `child` (we offer); `standby`: senders parked.
    Call { child: PeerId, role: Role },
    /// Accept an edge offered by `parent`; offers from anyone else are refused.
    Expect { parent: PeerId },
    Close { peer: PeerId, side: Side },
    /// Play and forward the media of the edge from `peer` (replaceTrack, no renegotiation).
    Upstream { peer: PeerId },
    /// Unpark (true) or park (false) the senders towards `child`.
    Sending { child: PeerId, on: bool },
    /// The node's state for the badge.
    State { state: &'static str, depth: Option<u32>, below: u32 },
    Log { level: &'static str, text: String },
}

/// Parses a peer id from the driver, or says why not.
pub fn peer(text: &str) -> Result<PeerId, String> {
    PeerId::parse(text).map_err(|e| format!("bad peer id {:?}: {e}", truncate(text)))
}

/// At most 64 characters of hostile text, for logs.
pub fn truncate(text: &str) -> String {
    text.chars().take(64).collect()
}

pub fn warn(text: String) -> DriverCommand {
    DriverCommand::Log { level: "warn", text }
}

pub fn info(text: String) -> DriverCommand {
    DriverCommand::Log { level: "info", text }
}

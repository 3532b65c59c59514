//! The browser layer: the core's machines behind a small wasm-bindgen API for the player frame.
//! JSON crosses the boundary (serde on this side), so the JS driver stays a thin executor of
//! commands: it owns sockets, peer connections and media; every decision is made here.

use wasm_bindgen::prelude::*;

mod brain;
mod core_bench;
pub use brain::{BroadcasterBrain, ViewerBrain};
pub use core_bench::CoreBench;

use crate::core::ids;

/// The broadcaster's PeerJS id for a program, derived from page data alone (no WebRTC exchange).
#[wasm_bindgen(js_name = broadcasterPeerId)]
pub fn broadcaster_peer_id(program_id: &str, broadcaster_user_id: &str) -> Result<String, JsError> {
    ids::broadcaster_peer_id(program_id, broadcaster_user_id)
        .map(|id| id.as_str().to_owned())
        .map_err(|e| JsError::new(&e.to_string()))
}

/// A fresh viewer id from 12 random bytes (the caller draws them with crypto.getRandomValues).
#[wasm_bindgen(js_name = viewerPeerId)]
pub fn viewer_peer_id(random: &[u8]) -> Result<String, JsError> {
    let bytes: [u8; 12] = random.try_into().map_err(|_| JsError::new("need 12 random bytes"))?;
    Ok(ids::viewer_peer_id(bytes).as_str().to_owned())
}

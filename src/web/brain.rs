//! The nodes as wasm-bindgen classes: `handle(nowMs, eventJson) -> commandsJson`.
//! A malformed event from the driver is a bug in the driver, reported as a JS error; hostile
//! network text inside an event is handled (logged, dropped) by the node itself.

use wasm_bindgen::prelude::*;

use crate::core::ids::PeerId;
use crate::node::broadcaster::BroadcastConfig;
use crate::node::{BroadcasterNode, DriverCommand, DriverEvent, ViewerNode};

fn peer(text: &str) -> Result<PeerId, JsError> {
    PeerId::parse(text).map_err(|e| JsError::new(&format!("{text:?}: {e}")))
}

fn event(json: &str) -> Result<DriverEvent, JsError> {
    serde_json::from_str(json).map_err(|e| JsError::new(&format!("driver event: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

fn commands(out: &[DriverCommand]) -> String {
    to_json(&out)
}

/// Milliseconds from JS (a double) as the core's clock.
fn ms(now: f64) -> u64 {
    if now.is_finite() && now > 0.0 { now as u64 } else { 0 }
}

#[wasm_bindgen]
pub struct ViewerBrain {
    node: ViewerNode,
}

#[wasm_bindgen]
impl ViewerBrain {
    #[wasm_bindgen(constructor)]
    pub fn new(me: &str, broadcaster: &str, slots: u8, random: u32) -> Result<ViewerBrain, JsError> {
        Ok(ViewerBrain { node: ViewerNode::new(peer(me)?, peer(broadcaster)?, slots, random as u64) })
    }

    /// TEST ONLY (media benchmark, `seed` runs): a viewer that detects a lost parent the way the
    /// 2017 library did (see `ViewerNode::with_original_detection`).
    #[wasm_bindgen(js_name = withOriginalDetection)]
    pub fn with_original_detection(me: &str, broadcaster: &str, slots: u8, random: u32) -> Result<ViewerBrain, JsError> {
        Ok(ViewerBrain { node: ViewerNode::with_original_detection(peer(me)?, peer(broadcaster)?, slots, random as u64) })
    }

    pub fn handle(&mut self, now: f64, event_json: &str) -> Result<String, JsError> {
        Ok(commands(&self.node.handle(ms(now), event(event_json)?)))
    }

    pub fn stats(&self) -> String {
        to_json(&self.node.stats())
    }
}

#[wasm_bindgen]
pub struct BroadcasterBrain {
    node: BroadcasterNode,
    restore_error: Option<String>,
}

#[wasm_bindgen]
impl BroadcasterBrain {
    /// A new session; `epoch` is a random nonzero number unique to this page load.
    #[wasm_bindgen(constructor)]
    pub fn new(me: &str, config_json: &str, epoch: u32) -> Result<BroadcasterBrain, JsError> {
        let config = config(config_json)?;
        Ok(BroadcasterBrain { node: BroadcasterNode::new(peer(me)?, &config, epoch), restore_error: None })
    }

    /// After a reload, from the saved snapshot (an invalid one starts an empty tree: see `restoreError`).
    pub fn restore(me: &str, config_json: &str, epoch: u32, snapshot: &str, now: f64) -> Result<BroadcasterBrain, JsError> {
        let config = config(config_json)?;
        let (node, restore_error) = BroadcasterNode::restore(peer(me)?, &config, epoch, snapshot, ms(now));
        Ok(BroadcasterBrain { node, restore_error })
    }

    #[wasm_bindgen(js_name = restoreError)]
    pub fn restore_error(&self) -> Option<String> {
        self.restore_error.clone()
    }

    pub fn handle(&mut self, now: f64, event_json: &str) -> Result<String, JsError> {
        Ok(commands(&self.node.handle(ms(now), event(event_json)?)))
    }

    pub fn stats(&self) -> String {
        to_json(&self.node.stats())
    }

    pub fn tree(&mut self) -> String {
        to_json(&self.node.tree())
    }

    pub fn snapshot(&self) -> String {
        self.node.snapshot()
    }

    /// The coordinator's invariants, checked in full (O(n)): `undefined` when they hold, else the
    /// first broken rule (tests read it through `window.treecast`).
    #[wasm_bindgen(js_name = checkInvariants)]
    pub fn check_invariants(&self) -> Option<String> {
        self.node.check_invariants().err()
    }

    /// The relay dashboard's frame (JSON, see `node::dashboard::Frame`): log entries from
    /// sequence number `since`, every viewer when there are at most `maxNodes`.
    pub fn dashboard(&mut self, now: f64, since: f64, max_nodes: u32) -> String {
        self.node.dashboard(ms(now), ms(since), max_nodes)
    }
}

fn config(json: &str) -> Result<BroadcastConfig, JsError> {
    serde_json::from_str(json).map_err(|e| JsError::new(&format!("broadcast config: {e}")))
}

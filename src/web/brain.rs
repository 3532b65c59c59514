//! Placeholder brains until the core's machines are wired in.
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub struct ViewerBrain {}

#[wasm_bindgen]
impl ViewerBrain {
    #[wasm_bindgen(constructor)]
    pub fn new(_id: &str, _root: &str, _slots: u8, _now: f64, _random: u32) -> ViewerBrain {
        ViewerBrain {}
    }
    pub fn handle(&mut self, _now: f64, _event: &str) -> String {
        "[]".into()
    }
    pub fn stats(&self) -> String {
        "{}".into()
    }
}

#[wasm_bindgen]
pub struct BroadcasterBrain {}

#[wasm_bindgen]
impl BroadcasterBrain {
    #[wasm_bindgen(constructor)]
    pub fn new(_id: &str, _config: &str, _now: f64) -> BroadcasterBrain {
        BroadcasterBrain {}
    }
    pub fn restore(id: &str, config: &str, _snapshot: &str, now: f64) -> BroadcasterBrain {
        Self::new(id, config, now)
    }
    pub fn handle(&mut self, _now: f64, _event: &str) -> String {
        "[]".into()
    }
    pub fn stats(&self) -> String {
        "{}".into()
    }
    pub fn tree(&self) -> String {
        "{}".into()
    }
    pub fn snapshot(&self) -> String {
        "{}".into()
    }
}

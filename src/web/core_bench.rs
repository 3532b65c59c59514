//! The coordinator benchmark's workload in the wasm build, for `make bench-core-wasm`: the page
//! times each phase with `performance.now()` (bench/core/wasm.mjs).

use wasm_bindgen::prelude::*;

use crate::core::coordinator::workload::Workload;
use crate::core::coordinator::Policy;

#[wasm_bindgen]
pub struct CoreBench {
    workload: Workload,
}

#[wasm_bindgen]
impl CoreBench {
    /// `policy`: "treecast" or "seed".
    #[wasm_bindgen(constructor)]
    pub fn new(policy: &str, seed: u32) -> Result<CoreBench, JsError> {
        let policy = match policy {
            "treecast" => Policy::Treecast,
            "seed" => Policy::Seed,
            other => return Err(JsError::new(&format!("unknown policy {other:?}"))),
        };
        Ok(CoreBench { workload: Workload::new(policy, 0x9e37_79b9_7f4a_7c15 ^ seed as u64) })
    }

    /// `n` joins (a tick every 100); returns the commands produced.
    pub fn joins(&mut self, n: u32) -> u32 {
        self.workload.joins(n) as u32
    }

    /// `n` random joins / leaves / losses (a tick every 100); returns the commands produced.
    pub fn churn(&mut self, n: u32) -> u32 {
        self.workload.churns(n) as u32
    }

    pub fn stats(&self) -> String {
        serde_json::to_string(&self.workload.coordinator().stats()).unwrap_or_else(|_| "null".into())
    }
}

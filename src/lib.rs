//! treecast: relay a live video through the viewers of a Niconico live broadcast.
//!
//! `core` is the sans-IO heart (protocol, coordinator, peer state machines): plain Rust, no I/O,
//! a clock passed in, the same code in the broadcaster's page, native tests, benchmarks and the
//! simulator. `web` binds it to the browser (wasm-bindgen) and exists only on wasm32.

pub mod core;
pub mod node;
pub mod sim;

#[cfg(target_arch = "wasm32")]
pub mod web;

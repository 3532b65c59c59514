//! The core's machines as the browser driver sees them: driver events in, driver commands out,
//! both plain serde types (JSON across the wasm boundary). Network text is decoded here with the
//! protocol's strict validation, so the driver never interprets a message itself. Pure Rust:
//! the same code is tested natively.

pub mod broadcaster;
pub mod dashboard;
pub mod guard;
pub mod viewer;
pub mod wire;

pub use broadcaster::BroadcasterNode;
pub use viewer::ViewerNode;
pub use wire::{DriverCommand, DriverEvent};

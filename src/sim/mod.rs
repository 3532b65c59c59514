//! treecast-sim: a whole broadcast as a discrete-event simulation that drives the real
//! coordinator and viewer machines of `crate::core` (no second model of them) and reports what
//! viewers would experience. See `README.md` beside this file for the model and its sources.
//!
//! - `config`: every knob of the model, defaults and their sources.
//! - `rng`: the seeded PRNG and distributions.
//! - `queue`: the event queue.
//! - `engine`: the driver's role (messages, edges, media, picture) around the real machines.
//! - `metrics`: what viewers experienced, summarised into a `Report`.
//! - `output`: the terminal table, JSON and SVG charts.

pub mod config;
pub mod engine;
pub mod metrics;
pub mod output;
pub mod queue;
pub mod rng;

pub use config::{parse_duration_ms, ScriptedViewer, SimConfig};
pub use engine::{policy_name, Sim};
pub use metrics::Report;

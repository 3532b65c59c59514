//! The sans-IO core: events in, commands out, time passed in.
//!
//! - `ids`: validated peer ids and how the broadcaster's and viewers' ids are made.
//! - `protocol`: the versioned wire messages and their strict decoding.
//! - `coordinator`: the broadcaster's tree manager (placement, standbys, repair, reload).
//! - `outbox`: turns coordinator commands into (recipient, message) pairs.
//! - `viewer`: the viewer/relay state machine.
//! - `health`: viewers' health reports through the tree, aggregated by relays and the broadcaster.
//! - `relay_log`: the streamer's event log (joins, leaves, losses, repairs, moves), bounded.

pub mod ids;
pub mod protocol;
pub mod coordinator;
pub mod outbox;
pub mod viewer;
pub mod health;
pub mod relay_log;

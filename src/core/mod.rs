//! The sans-IO core: events in, commands out, time passed in.
//!
//! - `ids`: validated peer ids and how the broadcaster's and viewers' ids are made.
//! - `protocol`: the versioned wire messages and their strict decoding.
//! - `coordinator`: the broadcaster's tree manager (placement, standbys, repair, reload).
//! - `outbox`: turns coordinator commands into (recipient, message) pairs.
//! - `viewer`: the viewer/relay state machine.

pub mod ids;
pub mod protocol;
pub mod coordinator;
pub mod outbox;
pub mod viewer;

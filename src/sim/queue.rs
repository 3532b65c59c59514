//! The event queue: a binary heap ordered by (time, insertion order), so events at the same
//! millisecond run in the order they were scheduled and a run is deterministic.

use crate::core::protocol::Message;
use crate::core::viewer::Side;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// What happens at one instant. Peers are sim indices (0 is the broadcaster); edges carry their
/// slot generation so an event about a closed and reused slot is recognised as stale.
#[derive(Debug)]
pub enum Ev {
    /// The next viewer opens the page (schedules the one after).
    Arrive,
    /// A viewer's PeerServer socket is open.
    SignallingOpen(u32),
    /// A viewer's session ends.
    Depart(u32),
    /// A message through the PeerServer to the coordinator.
    ToCoordinator(u32, Message),
    /// A message through the PeerServer from the coordinator.
    FromCoordinator(u32, Message),
    /// A message on an edge's data channel, to `to`.
    EdgeMessage { edge: u32, gen: u32, to: u32, message: Message },
    /// ICE + DTLS done: the edge's data channel is open (and media, if the sender is on).
    EdgeReady { edge: u32, gen: u32 },
    /// An unparked sender's first frame reaches the child.
    MediaStart { edge: u32, gen: u32 },
    /// The child's player reports decoded frames from the edge's parent.
    MediaArrives { edge: u32, gen: u32 },
    /// `to` learns that its edge with `from` closed (a clean close or PeerJS's close channel).
    EdgeClosed { to: u32, from: u32, edge: u32, side: Side },
    /// Tick a viewer's machine: for its next timer (`periodic`), or for a silence check.
    Tick { peer: u32, periodic: bool },
    CoordinatorTick,
    /// The PeerServer tells the coordinator that `peer` is not connected (EXPIRE).
    Expired(u32),
    Sample,
    ReloadStart,
    ReloadEnd,
}

struct Entry {
    at: u64,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    // Reversed: BinaryHeap is a max-heap, we want the earliest first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

#[derive(Default)]
pub struct Queue {
    heap: BinaryHeap<Entry>,
    seq: u64,
    processed: u64,
}

impl Queue {
    pub fn push(&mut self, at: u64, ev: Ev) {
        self.seq += 1;
        self.heap.push(Entry { at, seq: self.seq, ev });
    }

    pub fn pop(&mut self) -> Option<(u64, Ev)> {
        let e = self.heap.pop()?;
        self.processed += 1;
        Some((e.at, e.ev))
    }

    pub fn peek_time(&self) -> Option<u64> {
        self.heap.peek().map(|e| e.at)
    }

    pub fn processed(&self) -> u64 {
        self.processed
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

//! The event queue: a timing wheel of one bucket per millisecond for the near future (FIFO per
//! bucket) and a binary heap for events beyond it (departures, samples). Events run in order of
//! (time, insertion order), exactly as a heap keyed on both would run them, so a run is
//! deterministic; but pushing and popping a near event costs O(1) instead of O(log n) cache
//! misses in a heap of millions of entries.
//!
//! Why the order is exact: an event is far when it is at least `HORIZON` ms after the wheel's
//! current millisecond. Far events move onto the wheel, in (time, order) order, as soon as the
//! current millisecond comes within `HORIZON` of them and before any event of that millisecond
//! runs. Any near event for the same millisecond is pushed later than that, so it was also
//! scheduled later, and lands behind them in the bucket.

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

/// Milliseconds covered by the wheel (a power of two). Every delay of the model but session
/// lengths and the sampling period is shorter.
const HORIZON: u64 = 1 << 14;
const MASK: u64 = HORIZON - 1;

struct Far {
    at: u64,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Far {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Far {}
impl PartialOrd for Far {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Far {
    // Reversed: BinaryHeap is a max-heap, we want the earliest first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// One event on the wheel: a node of a per-millisecond singly linked FIFO list, kept in one
/// slab whose freed nodes are reused first (they are still in cache).
struct Node {
    ev: Option<Ev>,
    next: u32,
}

const END: u32 = u32::MAX;

pub struct Queue {
    /// `heads[t & MASK]` / `tails[..]`: the FIFO of millisecond `t`, for `now <= t < now + HORIZON`.
    heads: Vec<u32>,
    tails: Vec<u32>,
    nodes: Vec<Node>,
    free: Vec<u32>,
    /// The millisecond the wheel is at (the time of the last event popped).
    now: u64,
    /// Events on the wheel.
    near: usize,
    far: BinaryHeap<Far>,
    seq: u64,
    processed: u64,
}

impl Default for Queue {
    fn default() -> Self {
        Queue {
            heads: vec![END; HORIZON as usize],
            tails: vec![END; HORIZON as usize],
            nodes: Vec::new(),
            free: Vec::new(),
            now: 0,
            near: 0,
            far: BinaryHeap::new(),
            seq: 0,
            processed: 0,
        }
    }
}

impl Queue {
    /// Schedules `ev` at `at` (never before the last event popped).
    pub fn push(&mut self, at: u64, ev: Ev) {
        assert!(at >= self.now, "event scheduled in the past: {at} < {}", self.now);
        if at - self.now < HORIZON {
            self.push_near(at, ev);
        } else {
            self.seq += 1;
            self.far.push(Far { at, seq: self.seq, ev });
        }
    }

    fn push_near(&mut self, at: u64, ev: Ev) {
        let n = match self.free.pop() {
            Some(n) => {
                self.nodes[n as usize] = Node { ev: Some(ev), next: END };
                n
            }
            None => {
                self.nodes.push(Node { ev: Some(ev), next: END });
                (self.nodes.len() - 1) as u32
            }
        };
        let b = (at & MASK) as usize;
        match self.tails[b] {
            END => self.heads[b] = n,
            t => self.nodes[t as usize].next = n,
        }
        self.tails[b] = n;
        self.near += 1;
    }

    /// The next event at or before `until`, in (time, insertion) order; `None` when there is none
    /// (later events stay queued).
    pub fn pop_until(&mut self, until: u64) -> Option<(u64, Ev)> {
        loop {
            let b = (self.now & MASK) as usize;
            let n = self.heads[b];
            if n != END {
                let node = &mut self.nodes[n as usize];
                let ev = node.ev.take().expect("queued node holds an event");
                self.heads[b] = node.next;
                if node.next == END {
                    self.tails[b] = END;
                }
                self.free.push(n);
                self.near -= 1;
                self.processed += 1;
                return Some((self.now, ev));
            }
            // This millisecond is done: move to the next one that can hold events.
            let next = if self.near > 0 {
                self.now + 1
            } else {
                match self.far.peek() {
                    Some(f) => f.at.max(self.now + 1),
                    None => return None,
                }
            };
            if next > until {
                return None;
            }
            self.now = next;
            while self.far.peek().is_some_and(|f| f.at - self.now < HORIZON) {
                let f = self.far.pop().expect("peeked");
                self.push_near(f.at, f.ev);
            }
        }
    }

    pub fn processed(&self) -> u64 {
        self.processed
    }

    pub fn len(&self) -> usize {
        self.near + self.far.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(q: &mut Queue, until: u64) -> Vec<(u64, u32)> {
        let mut out = Vec::new();
        while let Some((at, ev)) = q.pop_until(until) {
            let Ev::Depart(n) = ev else { unreachable!() };
            out.push((at, n));
        }
        out
    }

    #[test]
    fn time_then_insertion_order_across_the_horizon() {
        let mut q = Queue::default();
        // Far events first, then near ones at the same instants: far ones were scheduled earlier.
        let far = HORIZON * 3 + 5;
        q.push(far, Ev::Depart(1));
        q.push(far, Ev::Depart(2));
        q.push(7, Ev::Depart(3));
        q.push(0, Ev::Depart(4));
        q.push(7, Ev::Depart(5));
        assert_eq!(drain(&mut q, 7), vec![(0, 4), (7, 3), (7, 5)]);
        // Walk up to just before `far`; then schedule more at `far` (near now): they run after.
        q.push(far - 10, Ev::Depart(6));
        assert_eq!(drain(&mut q, far - 10), vec![(far - 10, 6)]);
        q.push(far, Ev::Depart(7));
        q.push(far - 1, Ev::Depart(8));
        assert_eq!(drain(&mut q, u64::MAX), vec![(far - 1, 8), (far, 1), (far, 2), (far, 7)]);
        assert!(q.is_empty());
        assert_eq!(q.processed(), 8);
    }

    #[test]
    fn matches_a_heap_on_random_schedules() {
        let mut rng = crate::sim::rng::Rng::new(5);
        let mut q = Queue::default();
        let mut reference: BinaryHeap<Far> = BinaryHeap::new();
        let (mut seq, mut now, mut n) = (0u64, 0u64, 0u32);
        for _ in 0..20_000 {
            for _ in 0..rng.range(0, 3) {
                let at = now + if rng.chance(0.1) { rng.range(0, 5 * HORIZON) } else { rng.range(0, 300) };
                n += 1;
                seq += 1;
                q.push(at, Ev::Depart(n));
                reference.push(Far { at, seq, ev: Ev::Depart(n) });
            }
            match (q.pop_until(u64::MAX), reference.pop()) {
                (Some((at, Ev::Depart(a))), Some(Far { at: at2, ev: Ev::Depart(b), .. })) => {
                    assert_eq!((at, a), (at2, b));
                    now = at;
                }
                (None, None) => {}
                other => panic!("{other:?}", other = (other.0.map(|x| x.0), other.1.map(|f| f.at))),
            }
        }
    }
}

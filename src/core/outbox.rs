//! Maps coordinator commands to the (recipient, message) pairs the driver sends through the
//! PeerServer (or executes locally when the recipient is the broadcaster itself).

use crate::core::coordinator::Command;
use crate::core::ids::PeerId;
use crate::core::protocol::Message;

/// The recipient and message for one command in session `epoch`.
pub fn to_message(command: &Command, epoch: u32) -> (PeerId, Message) {
    into_message(command.clone(), epoch)
}

/// `to_message` for a command the caller is done with: its ids move into the message (no
/// reference-count traffic, which the simulator feels at a million viewers).
pub fn into_message(command: Command, epoch: u32) -> (PeerId, Message) {
    match command {
        Command::Connect { parent, child, role } => (parent, Message::Feed { epoch, child, role }),
        Command::Disconnect { parent, child } => (parent, Message::Drop { epoch, child }),
        Command::Assign { child, parent, standby, depth } => {
            (child, Message::Assign { epoch, parent, standby, depth: depth.max(1) })
        }
        Command::Wait { peer, retry_ms } => {
            (peer, Message::Wait { epoch, retry_ms: retry_ms.clamp(1, crate::core::protocol::MAX_RETRY_MS) })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::protocol::Role;

    #[test]
    fn commands_map_to_valid_messages() {
        let a = PeerId::parse("a").unwrap();
        let b = PeerId::parse("b").unwrap();
        let cmds = [
            Command::Connect { parent: a.clone(), child: b.clone(), role: Role::Standby },
            Command::Disconnect { parent: a.clone(), child: b.clone() },
            Command::Assign { child: b.clone(), parent: a.clone(), standby: None, depth: 2 },
            Command::Wait { peer: b.clone(), retry_ms: 0 },
        ];
        let recipients = [&a, &a, &b, &b];
        for (cmd, to) in cmds.iter().zip(recipients) {
            let (r, m) = to_message(cmd, 5);
            assert_eq!(&r, to);
            assert!(m.is_from_coordinator());
            assert_eq!(Message::decode(&m.encode()), Ok(m));
        }
    }
}

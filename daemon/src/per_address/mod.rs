//! What chatd counts per client address (an IPv4 address, or an IPv6
//! /64; behind a trusted proxy, the client it names): the connections
//! open and new ([`connections`], bounded by `max_connections_per_ip` and
//! `connections_per_ip_per_minute`), the wrong passwords
//! ([`password_guesses`], a throttle on guessing) and the names registered
//! ([`registrations`], under `names = "first-come"`). Each keeps its
//! records in a table bounded in entries ([`recent`]), so a flood of
//! addresses costs bounded memory.
//!
//! The door counts connections as it accepts them, the session's admission
//! counts guesses, the names registry counts registrations: they use this
//! folder, which uses none of them.

pub mod connections;
pub mod password_guesses;
pub mod recent;
pub mod registrations;

use std::net::IpAddr;

pub use connections::Connections;
pub use password_guesses::Guesses;

/// The key an address is counted under: IPv6 by its /64, as one host
/// usually holds a whole /64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddressKey {
    /// An IPv4 address (an IPv4-mapped IPv6 one too).
    V4([u8; 4]),
    /// The first 64 bits of an IPv6 address.
    V6([u8; 8]),
}

impl From<IpAddr> for AddressKey {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => AddressKey::V4(v4.octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => AddressKey::V4(v4.octets()),
                None => {
                    let mut prefix = [0; 8];
                    prefix.copy_from_slice(&v6.octets()[..8]);
                    AddressKey::V6(prefix)
                }
            },
        }
    }
}

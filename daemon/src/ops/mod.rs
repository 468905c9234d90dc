//! What an order does on this node: the admin API's calls, SIGHUP and the
//! orders of other nodes all end here, so each is written once. Nothing
//! here knows of other nodes: the admin API adds what a cluster needs
//! (`crate::cluster::Peers`), and a node carries out another node's order
//! with these same functions.
//!
//! | module | does |
//! |---|---|
//! | [`kick`] | ends a session here with a reason |
//! | [`moderate`] | moderation's rules, and a change of the bans put in force here |
//! | [`moderation_orders`] | a ban or mute order, and each change of moderation's book |
//! | [`notice`] | shows the admin's text to everyone here |
//! | [`users`] | who is online here |
//! | [`status`] | the status snapshot, systemd's STATUS= line, the message rate |
//! | [`reload`] | reads the configuration again and puts what can change in force |
//! | [`password`] | the admin-set join password, stored and put in force |
//! | [`rotate`] | a new join key, the grace of the old one and its end |

pub mod kick;
pub mod moderate;
pub mod moderation_orders;
pub mod notice;
pub mod password;
pub mod reload;
pub mod rotate;
pub mod status;
pub mod users;

//! What an order does on this node.

pub mod reload;
pub mod rotate;
pub mod status;

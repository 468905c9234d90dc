//! An admin's notice on this node: the admin API's, and one another node
//! sends on.

use crate::config::Config;
use crate::hub::Hub;

/// Shows `text` to everyone here, if it keeps this node's text rules:
/// how many it was sent to, or what is wrong with it.
pub fn here(config: &Config, hub: &Hub, text: &str) -> Result<usize, String> {
    chat_protocol::validate_text(text, config.max_text).map_err(|(_, e)| e)?;
    Ok(hub.notice(text))
}

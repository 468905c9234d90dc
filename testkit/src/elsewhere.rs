//! Users of a node that does not run: name claims written into a
//! cluster's names bucket (`chat_names`) as a node would write them, so a
//! real chatd on the same nats-server lists them as that node's users.
//! Thousands of users listed without thousands of joins (long lists).

use async_nats::jetstream;
use chat_protocol::IdentityKey;
use futures_util::StreamExt;

use crate::Nats;

/// Claims `names` for node `node` (each proving `identity`, if given, and
/// in `rooms` besides the default one), 64 writes at a time. The bucket
/// exists once a chatd of the cluster started.
pub async fn claim_names(
    nats: &Nats,
    node: &str,
    names: &[String],
    identity: Option<IdentityKey>,
    rooms: &[&str],
) {
    let js = jetstream::new(nats.client().await);
    let bucket = js
        .get_key_value("chat_names")
        .await
        .expect("the names bucket (made by the first chatd of the cluster)");
    futures_util::stream::iter(names)
        .map(|name| {
            let bucket = bucket.clone();
            let mut value = serde_json::json!({"node": node, "name": name, "rooms": rooms});
            if let Some(identity) = identity {
                value["identity"] = serde_json::json!(identity);
            }
            async move {
                bucket
                    .put(
                        name.to_ascii_lowercase(),
                        serde_json::to_vec(&value)
                            .expect("a claim serializes")
                            .into(),
                    )
                    .await
                    .unwrap_or_else(|e| panic!("claiming {name}: {e}"));
            }
        })
        .buffer_unordered(64)
        .collect::<Vec<()>>()
        .await;
}

/// `count` names of 32 bytes, in mixed case, as a long list's users:
/// `G00000xxx…`, `g00001xxx…`, … (each sorts by its number once folded).
pub fn long_names(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| {
            let initial = if i % 2 == 0 { "G" } else { "g" };
            format!("{initial}{i:05}{}", "x".repeat(26))
        })
        .collect()
}

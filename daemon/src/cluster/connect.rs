//! The connection to NATS ([`Cluster::connect`]): the options (a login
//! from the URLs or a credentials file), what happens to the connection
//! logged and counted, and the room's stream and buckets made sure of.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream;

use super::{Cluster, ClusterError, SETUP_REQUEST, Settings, login};
use crate::config::cluster::shown_urls;

impl Cluster {
    /// Connects to NATS and makes sure the room's stream and buckets exist.
    /// NATS connections are kept up by the client: after this, a lost NATS
    /// is retried for ever in the background ([`Cluster::connected`]).
    pub async fn connect(settings: Settings) -> Result<Self, ClusterError> {
        if settings.room.is_empty()
            || settings.room.len() > 32
            || !settings
                .room
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(ClusterError::Room(settings.room.clone()));
        }
        let mut options = match &settings.credentials {
            None => async_nats::ConnectOptions::new(),
            Some(path) => credentials(path).await?,
        };
        let (connected, connections) = tokio::sync::watch::channel(0u64);
        let lost_since = Arc::new(Mutex::new(None));
        let lost = lost_since.clone();
        options = options
            .event_callback(move |event| {
                let connected = connected.clone();
                let lost = lost.clone();
                async move { note_event(&event, &connected, &lost) }
            })
            .name(format!("chatd {}", settings.node_name))
            .connection_timeout(Duration::from_secs(5))
            .max_reconnects(None);
        let urls = shown_urls(&settings.urls);
        let addrs: Vec<async_nats::ServerAddr> = settings
            .urls
            .iter()
            .map(|u| u.parse())
            .collect::<Result<_, _>>()
            .map_err(|e: std::io::Error| ClusterError::Connect {
                urls: urls.clone(),
                reason: e.to_string(),
            })?;
        match login::from_urls(&addrs) {
            Ok(None) => {}
            Ok(Some(_)) if settings.credentials.is_some() => {
                return Err(ClusterError::Connect {
                    urls,
                    reason:
                        "a URL carries a login and cluster_credentials is set too; use one of them"
                            .into(),
                });
            }
            Ok(Some(login)) => options = login.apply(options),
            Err(reason) => return Err(ClusterError::Connect { urls, reason }),
        }
        let client = options.connect(addrs).await.map_err(|e| {
            use async_nats::ConnectErrorKind as Kind;
            let reason = e.to_string();
            match e.kind() {
                // Waiting will not change what NATS thinks of this node.
                Kind::Authentication | Kind::AuthorizationViolation | Kind::Tls => {
                    ClusterError::Refused { urls, reason }
                }
                _ => ClusterError::Connect { urls, reason },
            }
        })?;
        let js = jetstream::new(client.clone());
        let cluster = Cluster {
            client,
            js,
            settings,
            connections,
            lost_since,
        };
        // Set up with short requests: a NATS cluster that is starting too
        // drops what comes before its JetStream is ready, and the caller
        // tries again ([`start`]) sooner than the default 5 s would.
        let mut setup = cluster.js.clone();
        setup.set_timeout(SETUP_REQUEST);
        let config = cluster.log_config(cluster.settings.history, cluster.settings.history_max_age);
        cluster
            .create_or_update(&setup, config, "create the room's log stream")
            .await?;
        for (bucket, max_age) in [
            (cluster.names_bucket(), cluster.settings.claim_lifetime()),
            (cluster.state_bucket(), Duration::ZERO),
            (cluster.nodes_bucket(), cluster.settings.claim_ttl),
            (cluster.registry_bucket(), Duration::ZERO),
            (cluster.rooms_bucket(), Duration::ZERO),
        ] {
            cluster
                .create_or_update(
                    &setup,
                    cluster.bucket_config(&bucket, max_age),
                    "create a key-value bucket",
                )
                .await?;
        }
        cluster
            .create_or_update(
                &setup,
                cluster.audit_config(),
                "create the moderation record's stream",
            )
            .await?;
        Ok(cluster)
    }
}

/// Logs what happens to the connection to NATS, counts connections, and
/// notes since when it has been lost.
fn note_event(
    event: &async_nats::Event,
    connections: &tokio::sync::watch::Sender<u64>,
    lost_since: &Mutex<Option<Instant>>,
) {
    match event {
        async_nats::Event::Connected => {
            *lost_since.lock().expect("lock") = None;
            connections.send_modify(|n| *n += 1);
            tracing::info!("cluster: connected to NATS");
        }
        async_nats::Event::Disconnected => {
            lost_since
                .lock()
                .expect("lock")
                .get_or_insert_with(Instant::now);
            tracing::warn!(
                "cluster: lost the connection to NATS; new messages and joins are refused until it is back (retrying)"
            );
        }
        other => tracing::warn!("cluster: NATS: {other}"),
    }
}

/// Reads a credentials file: a `.creds` file (JWT and seed) or a bare nkey
/// seed (a line starting `SU`).
async fn credentials(path: &std::path::Path) -> Result<async_nats::ConnectOptions, ClusterError> {
    let fail = |reason: String| ClusterError::Credentials {
        path: path.to_path_buf(),
        reason,
    };
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(|e| fail(format!("cannot read it: {e}")))?;
    if text.contains("BEGIN NATS USER JWT") {
        async_nats::ConnectOptions::new()
            .credentials(&text)
            .map_err(|e| fail(format!("not a usable credentials file: {e}")))
    } else {
        let seed = text.trim();
        if !seed.starts_with("SU") {
            return Err(fail(
                "neither a .creds file nor an nkey user seed (SU...)".into(),
            ));
        }
        Ok(async_nats::ConnectOptions::new().nkey(seed.to_string()))
    }
}

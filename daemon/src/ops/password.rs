//! The admin-set join password changed on a chatd that is no node of a
//! cluster (a node's goes through the cluster: `cluster::changes`).

use crate::store::StoreError;
use crate::store::keyring::Keyring;

/// Stores (`Some`) or erases (`None`) the admin-set password hash, then
/// puts it in force, under the state lock.
pub async fn set_here(
    keyring: &std::sync::Arc<Keyring>,
    hash: Option<String>,
) -> Result<(), StoreError> {
    let _writing = keyring.state_writes.lock().await;
    let (store, saved) = (keyring.clone(), hash.clone());
    tokio::task::spawn_blocking(move || match &saved {
        Some(hash) => store.store.save_password_hash(hash),
        None => store.store.erase_password_hash(),
    })
    .await
    .map_err(|e| StoreError::Panicked(e.to_string()))??;
    keyring.password.set_admin_hash(hash);
    Ok(())
}

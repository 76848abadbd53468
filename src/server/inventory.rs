//! The in-memory inventory snapshot read by the packet path, and the task that reloads it when
//! the store's inventory generation changes (also when another process, such as the CLI, wrote).

use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use wardgate_store::Store;
use wardgate_types::{Labels, MacAddr};

/// Devices by MAC, as of one inventory generation.
#[derive(Debug, Default)]
pub struct Inventory {
    pub generation: i64,
    pub devices: HashMap<MacAddr, Arc<Labels>>,
}

impl Inventory {
    pub async fn load(store: &Store) -> Result<Inventory, wardgate_store::StoreError> {
        // Read the generation first: a change racing the list shows up as a newer generation
        // on the next poll, so the snapshot is never older than what it claims.
        let generation = store.inventory_generation().await?;
        let devices = store
            .list_devices()
            .await?
            .into_iter()
            .map(|d| (d.mac, Arc::new(d.labels)))
            .collect();
        Ok(Inventory {
            generation,
            devices,
        })
    }
}

/// Polls the store and swaps in a new snapshot whenever the generation moved.
pub async fn refresh_loop(store: Store, snapshot: Arc<ArcSwap<Inventory>>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let current = snapshot.load().generation;
        let generation = match tokio::time::timeout(
            Duration::from_secs(2),
            store.inventory_generation(),
        )
        .await
        {
            Ok(Ok(g)) => g,
            Ok(Err(e)) => {
                tracing::warn!("inventory: cannot read the generation, keeping the snapshot: {e}");
                continue;
            }
            Err(_) => {
                tracing::warn!(
                    "inventory: the database did not answer in 2 s, keeping the snapshot"
                );
                continue;
            }
        };
        if generation == current {
            continue;
        }
        match Inventory::load(&store).await {
            Ok(inv) => {
                tracing::info!(
                    devices = inv.devices.len(),
                    generation = inv.generation,
                    "inventory reloaded"
                );
                snapshot.store(Arc::new(inv));
            }
            Err(e) => tracing::warn!("inventory: reload failed, keeping the snapshot: {e}"),
        }
    }
}

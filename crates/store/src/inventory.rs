//! The device inventory: devices with their labels, and the generation counter bumped in the same
//! transaction as every change so that a server notices changes made by another process.

use crate::{Store, StoreError, labels, now_ms};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use wardgate_types::{Device, Labels, MacAddr, label};

macro_rules! select_devices {
    () => {
        "SELECT mac, role, sensitivity, location, environment, owner, labels FROM devices"
    };
}

const UPSERT_DEVICE: &str = "INSERT INTO devices \
     (mac, role, sensitivity, location, environment, owner, labels, created_ms, updated_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
     ON CONFLICT (mac) DO UPDATE SET \
     role = excluded.role, sensitivity = excluded.sensitivity, location = excluded.location, \
     environment = excluded.environment, owner = excluded.owner, labels = excluded.labels, \
     updated_ms = excluded.updated_ms";

/// Bumped first in every inventory transaction: on SQLite this takes the write lock at the
/// start (a deferred transaction that reads first can fail to upgrade); on PostgreSQL it
/// serialises inventory writers on the counter row.
const BUMP_GENERATION: &str =
    "UPDATE inventory_generation SET generation = generation + 1 WHERE id = 1";

impl Store {
    /// Every device, ordered by MAC.
    pub async fn list_devices(&self) -> Result<Vec<Device>, StoreError> {
        let rows = sqlx::query(concat!(select_devices!(), " ORDER BY mac"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(device_from_row).collect()
    }

    pub async fn get_device(&self, mac: MacAddr) -> Result<Option<Device>, StoreError> {
        let row = sqlx::query(concat!(select_devices!(), " WHERE mac = $1"))
            .bind(mac.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(device_from_row).transpose()
    }

    /// Inserts the device, or replaces the labels of the device with that MAC.
    pub async fn upsert_device(&self, device: &Device) -> Result<(), StoreError> {
        check(device)?;
        let mut tx = self.pool.begin().await?;
        bump(&mut tx).await?;
        upsert(&mut tx, device, now_ms()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes the device; false if there was none (and then the generation is not bumped).
    pub async fn delete_device(&self, mac: MacAddr) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        bump(&mut tx).await?;
        let done = sqlx::query("DELETE FROM devices WHERE mac = $1")
            .bind(mac.to_string())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    /// The inventory generation: changes whenever the inventory changes, in any process.
    /// Cheap enough to poll every second.
    pub async fn inventory_generation(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT generation FROM inventory_generation WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(row.try_get::<i64, _>(0)?),
            None => Err(StoreError::Corrupt(
                "inventory_generation has no row".into(),
            )),
        }
    }

    /// Upserts all the devices in one transaction (all or nothing) and bumps the generation
    /// once. Returns how many devices were written.
    pub async fn import_devices(&self, devices: &[Device]) -> Result<usize, StoreError> {
        for device in devices {
            check(device)?;
        }
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        bump(&mut tx).await?;
        for device in devices {
            upsert(&mut tx, device, now).await?;
        }
        tx.commit().await?;
        Ok(devices.len())
    }
}

fn check(device: &Device) -> Result<(), StoreError> {
    labels::check_device(device).map_err(|reason| StoreError::InvalidDevice {
        mac: device.mac.to_string(),
        reason,
    })
}

async fn bump(tx: &mut Transaction<'static, Any>) -> Result<(), StoreError> {
    let done = sqlx::query(BUMP_GENERATION).execute(&mut **tx).await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::Corrupt(
            "inventory_generation has no row".into(),
        ));
    }
    Ok(())
}

async fn upsert(
    tx: &mut Transaction<'static, Any>,
    device: &Device,
    now: i64,
) -> Result<(), StoreError> {
    let well_known = |key: &str| device.labels.get(key).cloned();
    let free: Labels = device
        .labels
        .iter()
        .filter(|(k, _)| !labels::is_well_known(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let free = serde_json::to_string(&free)
        .map_err(|e| StoreError::Corrupt(format!("labels do not serialise: {e}")))?;
    sqlx::query(UPSERT_DEVICE)
        .bind(device.mac.to_string())
        .bind(well_known(label::ROLE))
        .bind(well_known(label::SENSITIVITY))
        .bind(well_known(label::LOCATION))
        .bind(well_known(label::ENVIRONMENT))
        .bind(well_known(label::OWNER))
        .bind(free)
        .bind(now)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn device_from_row(row: &AnyRow) -> Result<Device, StoreError> {
    let mac_text: String = row.try_get("mac")?;
    let mac = MacAddr::parse(&mac_text)
        .map_err(|e| StoreError::Corrupt(format!("devices.mac {mac_text:?}: {e}")))?;
    let free: String = row.try_get("labels")?;
    let mut labels: Labels = serde_json::from_str(&free)
        .map_err(|e| StoreError::Corrupt(format!("devices.labels of {mac}: {e}")))?;
    for key in label::WELL_KNOWN {
        if let Some(value) = row.try_get::<Option<String>, _>(key)? {
            labels.insert(key.to_owned(), value);
        }
    }
    Ok(Device { mac, labels })
}

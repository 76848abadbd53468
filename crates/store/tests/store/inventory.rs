//! Devices: CRUD, label replacement, non-ASCII labels, the generation counter.

use crate::both;
use crate::common::TestDb;
use wardgate_store::{Store, StoreError};
use wardgate_types::{Device, Labels, MacAddr};

pub fn device(mac: &str, labels: &[(&str, &str)]) -> Device {
    Device {
        mac: MacAddr::parse(mac).unwrap(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Labels>(),
    }
}

async fn crud(db: &TestDb) {
    let s = &db.store;
    assert!(s.list_devices().await.unwrap().is_empty());
    let pump = device(
        "00:11:22:33:44:55",
        &[
            ("role", "infusion-pump"),
            ("location", "ICU 3"),
            ("asset-tag", "A-17"),
        ],
    );
    let monitor = device("aa:bb:cc:dd:ee:01", &[("role", "monitor")]);
    s.upsert_device(&monitor).await.unwrap();
    s.upsert_device(&pump).await.unwrap();
    assert_eq!(s.get_device(pump.mac).await.unwrap(), Some(pump.clone()));
    // Ordered by MAC.
    assert_eq!(
        s.list_devices().await.unwrap(),
        vec![pump.clone(), monitor.clone()]
    );

    // An upsert replaces the labels, it does not merge them.
    let pump2 = device(
        "00-11-22-33-44-55",
        &[("role", "infusion-pump"), ("owner", "biomed")],
    );
    s.upsert_device(&pump2).await.unwrap();
    assert_eq!(s.get_device(pump.mac).await.unwrap(), Some(pump2.clone()));
    assert_eq!(s.list_devices().await.unwrap().len(), 2);

    assert!(s.delete_device(pump.mac).await.unwrap());
    assert!(!s.delete_device(pump.mac).await.unwrap());
    assert_eq!(s.get_device(pump.mac).await.unwrap(), None);
    assert_eq!(s.list_devices().await.unwrap(), vec![monitor]);
}
both!(crud);

async fn non_ascii_labels_survive(db: &TestDb) {
    let d = device(
        "02:00:00:00:00:09",
        &[
            ("location", "Station Süd – Kinderklinik, 3. OG"),
            ("owner", "医療機器管理"),
            ("note", "Ölpumpe 🚑 \"quoted\" \\ back"),
            ("environment", "prod"),
        ],
    );
    db.store.upsert_device(&d).await.unwrap();
    assert_eq!(db.store.get_device(d.mac).await.unwrap(), Some(d.clone()));
    assert_eq!(db.store.list_devices().await.unwrap(), vec![d]);
}
both!(non_ascii_labels_survive);

async fn bad_labels_are_refused(db: &TestDb) {
    let g = db.store.inventory_generation().await.unwrap();
    for bad in [
        device("00:00:00:00:00:01", &[("Bad Key", "x")]),
        device("00:00:00:00:00:01", &[("mac", "x")]),
        device("00:00:00:00:00:01", &[("role", "")]),
        device("00:00:00:00:00:01", &[("role", " padded ")]),
    ] {
        match db.store.upsert_device(&bad).await {
            Err(StoreError::InvalidDevice { .. }) => {}
            other => panic!("{bad:?} gave {other:?}"),
        }
    }
    assert!(db.store.list_devices().await.unwrap().is_empty());
    assert_eq!(db.store.inventory_generation().await.unwrap(), g);
}
both!(bad_labels_are_refused);

async fn generation_bumps_on_every_change_and_not_on_reads(db: &TestDb) {
    let s = &db.store;
    // Another process: a second pool on the same database.
    let other = Store::connect(&db.url).await.unwrap();
    let g0 = s.inventory_generation().await.unwrap();
    let d = device("00:00:5e:00:53:01", &[("role", "printer")]);

    let _ = s.list_devices().await.unwrap();
    let _ = s.get_device(d.mac).await.unwrap();
    assert_eq!(
        s.inventory_generation().await.unwrap(),
        g0,
        "reads do not bump"
    );

    other.upsert_device(&d).await.unwrap();
    let g1 = s.inventory_generation().await.unwrap();
    assert!(g1 > g0, "insert by another process is seen");
    assert_eq!(s.get_device(d.mac).await.unwrap(), Some(d.clone()));

    other
        .upsert_device(&device("00:00:5e:00:53:01", &[("role", "scanner")]))
        .await
        .unwrap();
    let g2 = s.inventory_generation().await.unwrap();
    assert!(g2 > g1, "update bumps");

    assert!(!other.delete_device(MacAddr::new([9; 6])).await.unwrap());
    assert_eq!(
        s.inventory_generation().await.unwrap(),
        g2,
        "deleting nothing is no change"
    );

    assert!(other.delete_device(d.mac).await.unwrap());
    let g3 = s.inventory_generation().await.unwrap();
    assert!(g3 > g2, "delete bumps");

    let batch = vec![
        device("00:00:5e:00:53:02", &[]),
        device("00:00:5e:00:53:03", &[("zone", "b")]),
    ];
    assert_eq!(other.import_devices(&batch).await.unwrap(), 2);
    let g4 = s.inventory_generation().await.unwrap();
    assert!(g4 > g3, "import bumps");
    assert_eq!(s.list_devices().await.unwrap(), batch);
    assert_eq!(other.inventory_generation().await.unwrap(), g4);
    other.close().await;
}
both!(generation_bumps_on_every_change_and_not_on_reads);

async fn reconnect_keeps_data_and_does_not_rerun_migrations(db: &TestDb) {
    let d = device("00:00:5e:00:53:0a", &[("role", "pump")]);
    db.store.upsert_device(&d).await.unwrap();
    let again = Store::connect(&db.url).await.unwrap();
    assert_eq!(again.list_devices().await.unwrap(), vec![d]);
    again.close().await;
}
both!(reconnect_keeps_data_and_does_not_rerun_migrations);

#[tokio::test]
async fn sqlite_relative_and_absolute_urls_create_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let abs = dir.path().join("sub-less.db");
    let s = Store::connect(&format!("sqlite://{}", abs.display()))
        .await
        .unwrap();
    assert_eq!(s.kind(), wardgate_store::DbKind::Sqlite);
    s.close().await;
    assert!(abs.exists());
    let mode: (String,) = {
        let s = Store::connect(&format!("sqlite:{}", abs.display()))
            .await
            .unwrap();
        let m = sqlx::query_as("PRAGMA journal_mode")
            .fetch_one(s.pool())
            .await
            .unwrap();
        s.close().await;
        m
    };
    assert_eq!(mode.0.to_lowercase(), "wal");
}

#[tokio::test]
async fn unreachable_postgres_fails_to_connect_quickly() {
    let started = std::time::Instant::now();
    let r = Store::connect("postgres://postgres@127.0.0.1:1/nothing").await;
    assert!(r.is_err());
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

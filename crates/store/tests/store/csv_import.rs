//! CSV import and export through the store.

use crate::both;
use crate::common::TestDb;
use crate::inventory::device;
use wardgate_store::DbKind;
use wardgate_store::csvio::{parse_devices_csv, write_devices_csv};
use wardgate_types::MacAddr;

async fn import_with_one_bad_row_imports_nothing(db: &TestDb) {
    let s = &db.store;
    let existing = device("00:00:5e:00:53:01", &[("role", "printer")]);
    s.upsert_device(&existing).await.unwrap();
    let g = s.inventory_generation().await.unwrap();

    let text = "mac,role,ward\n\
                00005e005301,scanner,\n\
                aabb.ccdd.eeff,pump,ICU\n\
                zz:zz:zz:zz:zz:zz,pump,ICU\n\
                11-22-33-44-55-66,monitor\n\
                AA:BB:CC:DD:EE:FF,pump,ICU\n";
    let err = parse_devices_csv("wards.csv", text).unwrap_err();
    let lines: Vec<String> = err.to_string().lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(lines[0].starts_with("wards.csv:4: bad MAC"), "{err}");
    assert!(
        lines[1].starts_with("wards.csv:5: wrong number of fields"),
        "{err}"
    );
    assert!(
        lines[2].starts_with("wards.csv:6: duplicate MAC AA-BB-CC-DD-EE-FF"),
        "{err}"
    );
    // Nothing of the file reached the store.
    assert_eq!(s.list_devices().await.unwrap(), vec![existing.clone()]);
    assert_eq!(s.inventory_generation().await.unwrap(), g);

    // The store refuses the whole slice when one device is bad.
    let slice = vec![
        device("00:00:5e:00:53:01", &[("role", "scanner")]),
        device("00:00:5e:00:53:02", &[("Bad", "x")]),
    ];
    assert!(s.import_devices(&slice).await.is_err());
    assert_eq!(s.list_devices().await.unwrap(), vec![existing]);
    assert_eq!(s.inventory_generation().await.unwrap(), g);
}
both!(import_with_one_bad_row_imports_nothing);

async fn import_upserts_spellings_and_free_labels(db: &TestDb) {
    let s = &db.store;
    s.upsert_device(&device(
        "aa:bb:cc:dd:ee:ff",
        &[("role", "old"), ("owner", "it")],
    ))
    .await
    .unwrap();
    let text = "MAC , Role,Location,asset-tag,Zone\n\
                aabb.ccdd.eeff,infusion-pump,Bau 3,A-17,\n\
                00-11-22-33-44-55,,,,Süd\n\
                0a:0b:0c:0d:0e:0f,monitor,,,\n\
                001122334466,printer,Küche,,\n\
                0:8:0:0:2:b:8:6:1:9:d:e,scanner,,,\n";
    let devices = parse_devices_csv("inv.csv", text).unwrap();
    assert_eq!(s.import_devices(&devices).await.unwrap(), 5);
    let aa = s
        .get_device(MacAddr::parse("AA-BB-CC-DD-EE-FF").unwrap())
        .await
        .unwrap()
        .unwrap();
    // Replaced, not merged: the owner label is gone.
    assert_eq!(
        aa,
        device(
            "aabbccddeeff",
            &[
                ("role", "infusion-pump"),
                ("location", "Bau 3"),
                ("asset-tag", "A-17")
            ]
        )
    );
    let z = s
        .get_device(MacAddr::parse("001122334455").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(z, device("001122334455", &[("zone", "Süd")]));
    assert!(
        s.get_device(MacAddr::parse("08:00:2b:86:19:de").unwrap())
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(s.list_devices().await.unwrap().len(), 5);
}
both!(import_upserts_spellings_and_free_labels);

async fn export_then_import_round_trips(db: &TestDb) {
    let s = &db.store;
    let text = "mac,role,sensitivity,location,environment,owner,zone,asset\n\
                aabb.ccdd.eeff,pump,high,\"ICU, bed 3\",prod,biomed,Süd,\"multi\nline\"\n\
                00:11:22:33:44:55,,,,,,Nord,\n\
                02:00:00:00:00:01,phone,low,,,,,\n";
    s.import_devices(&parse_devices_csv("in.csv", text).unwrap())
        .await
        .unwrap();
    let stored = s.list_devices().await.unwrap();
    let mut out = Vec::new();
    write_devices_csv(&stored, &mut out).unwrap();
    let exported = String::from_utf8(out).unwrap();
    assert!(exported.starts_with("mac,role,sensitivity,location,environment,owner,asset,zone\n"));
    assert!(exported.contains("\n00-11-22-33-44-55,"), "{exported}");

    // Import the export into a second, empty database of the same kind.
    let other_db = match s.kind() {
        DbKind::Sqlite => TestDb::sqlite().await,
        DbKind::Postgres => TestDb::postgres().await.unwrap(),
    };
    let other = &other_db.store;
    let parsed = parse_devices_csv("export.csv", &exported).unwrap();
    assert_eq!(parsed, stored);
    other.import_devices(&parsed).await.unwrap();
    assert_eq!(other.list_devices().await.unwrap(), stored);
    // And exporting again gives the same bytes.
    let mut again = Vec::new();
    write_devices_csv(&other.list_devices().await.unwrap(), &mut again).unwrap();
    assert_eq!(String::from_utf8(again).unwrap(), exported);
    other_db.finish().await;
}
both!(export_then_import_round_trips);

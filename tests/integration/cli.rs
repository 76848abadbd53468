//! The command line as an operator uses it: device import/export, policy check and test,
//! check-config, reload on SIGHUP, and the embedded default.

use crate::harness::*;
use std::process::Command;

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn import_with_bad_rows_names_them_and_imports_nothing() {
    let s = Server::start(Options::default());
    let f = s.dir.path().join("bad.csv");
    std::fs::write(
        &f,
        "mac,role,location\n00:09:fb:00:00:01,infusion-pump,icu-1\nnot-a-mac,printer,ward-1\n00:09:fb:00:00:03,printer\n",
    )
    .unwrap();
    let o = wardgate(&s.config, &["devices", "import", f.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("bad.csv:3:"), "{err}");
    assert!(err.contains("bad.csv:4:"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    let o = wardgate(&s.config, &["devices", "export"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 1, "header only: {}", stdout(&o));
}

#[test]
fn device_imported_while_serving_is_known_at_once_and_exports_round_trip() {
    let s = Server::start(Options::default());
    let mac = "00:1e:8f:00:00:42";
    let r = radclient(s.auth, "auth", SECRET, &mab_request(mac, true));
    assert!(
        r.has("Tunnel-Private-Group-Id:0 = \"999\""),
        "unknown first: {}",
        r.output
    );
    let f = s.dir.path().join("new.csv");
    std::fs::write(&f, format!("mac,role,sensitivity,location,environment,owner\n{mac},lab-analyser,ephi,lab-core,production,lab\n")).unwrap();
    let o = wardgate(&s.config, &["devices", "import", f.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    s.wait_log("inventory reloaded");
    let r = radclient(s.auth, "auth", SECRET, &mab_request(mac, true));
    assert!(
        r.has("Tunnel-Private-Group-Id:0 = \"130\""),
        "lab after import: {}",
        r.output
    );
    let o = wardgate(&s.config, &["devices", "export"]);
    let text = stdout(&o);
    assert!(
        text.starts_with("mac,role,sensitivity,location,environment,owner"),
        "{text}"
    );
    assert!(
        text.contains("00-1E-8F-00-00-42,lab-analyser,ephi,lab-core,production,lab"),
        "{text}"
    );
    // Deleted: unknown again, quarantined.
    let o = wardgate(&s.config, &["devices", "delete", "001e.8f00.0042"]);
    assert!(o.status.success(), "{}", stderr(&o));
    s.wait_log_count("inventory reloaded", 2);
    let r = radclient(s.auth, "auth", SECRET, &mab_request(mac, true));
    assert!(
        r.has("Tunnel-Private-Group-Id:0 = \"999\""),
        "after delete: {}",
        r.output
    );
    let o = wardgate(&s.config, &["devices", "delete", "001e.8f00.0042"]);
    assert!(!o.status.success(), "deleting twice says it is not there");
}

#[test]
fn policy_check_and_test_on_the_shipped_policies() {
    let dir = repo().join("policies");
    let o = Command::new(bin())
        .args(["policy", "check", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let o = Command::new(bin())
        .args(["policy", "test", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains(" passed, 0 failed"), "{}", stdout(&o));
    assert!(stdout(&o).contains(" cases, "), "{}", stdout(&o));
}

fn copy_policies(to: &std::path::Path) {
    std::fs::create_dir_all(to.join("tests")).unwrap();
    for e in std::fs::read_dir(repo().join("policies")).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
    for e in std::fs::read_dir(repo().join("policies/tests")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join("tests").join(e.file_name())).unwrap();
    }
}

#[test]
fn broken_policy_is_reported_as_file_line_and_a_failing_case_fails() {
    let dir = tempfile::tempdir().unwrap();
    copy_policies(dir.path());
    let clinical = dir.path().join("20-clinical.toml");
    let text = std::fs::read_to_string(&clinical).unwrap();
    std::fs::write(
        &clinical,
        text.replacen(
            "segment = \"clinical-iot\"",
            "segment = \"no-such-segment\"",
            1,
        ),
    )
    .unwrap();
    let o = Command::new(bin())
        .args(["policy", "check", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("20-clinical.toml:"), "{err}");
    assert!(err.contains("no-such-segment"), "{err}");

    // Valid policy, but a test case that expects something else: `policy test` fails.
    std::fs::write(&clinical, &text).unwrap();
    let t = dir.path().join("tests/20-clinical.toml");
    let cases = std::fs::read_to_string(&t).unwrap();
    std::fs::write(
        &t,
        cases.replacen("segment = \"clinical-iot\"", "segment = \"guest\"", 1),
    )
    .unwrap();
    let o = Command::new(bin())
        .args(["policy", "test", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!o.status.success(), "{}", stdout(&o));
    assert!(stdout(&o).contains("FAIL"), "{}", stdout(&o));
}

#[test]
fn check_config_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("w.toml");
    std::fs::write(
        &f,
        "[[client]]\nname = \"sw\"\naddress = \"10.0.0.0/33\"\nsecret = \"0123456789abcdef\"\n",
    )
    .unwrap();
    let o = wardgate(&f, &["check-config"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("w.toml:3: client[0] (sw).address"),
        "{}",
        stderr(&o)
    );
    // The shipped example (with a secret file that exists) passes.
    let secret = dir.path().join("s");
    std::fs::write(&secret, "a-long-secret-from-a-file").unwrap();
    let text = std::fs::read_to_string(repo().join("packaging/wardgate.toml"))
        .unwrap()
        .replace(
            "/etc/wardgate/secrets/cisco-access",
            secret.to_str().unwrap(),
        )
        .replace(
            "/usr/share/wardgate/dictionaries",
            repo().join("dictionaries").to_str().unwrap(),
        )
        .replace(
            "/etc/wardgate/policies",
            repo().join("policies").to_str().unwrap(),
        )
        .replace("/var/lib/wardgate", dir.path().to_str().unwrap());
    std::fs::write(&f, text).unwrap();
    let o = wardgate(&f, &["check-config"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn sighup_with_a_broken_policy_keeps_the_running_one() {
    let dir = tempfile::tempdir().unwrap();
    copy_policies(dir.path());
    let s = Server::start(Options {
        policy_dir: dir.path().to_path_buf(),
        devices_csv: Some(include_str!("../fixtures/hospital-devices.csv").to_string()),
        ..Options::default()
    });
    let clinical = dir.path().join("20-clinical.toml");
    let text = std::fs::read_to_string(&clinical).unwrap();
    std::fs::write(&clinical, format!("{text}\n[[rule]]\nname = \"broken\"\n")).unwrap();
    s.signal("HUP");
    s.wait_log("reload refused");
    assert!(
        s.log_text().contains("20-clinical.toml:"),
        "{}",
        s.log_text()
    );
    let r = radclient(s.auth, "auth", SECRET, &mab_request("0009fb123457", true));
    assert!(r.has("Tunnel-Private-Group-Id:0 = \"110\""), "{}", r.output);
    // A good change is taken: pumps move to VLAN 111.
    let seg = dir.path().join("00-segments.toml");
    let segs = std::fs::read_to_string(&seg).unwrap();
    std::fs::write(&seg, segs.replacen("vlan = 110", "vlan = 111", 1)).unwrap();
    std::fs::write(&clinical, &text).unwrap();
    s.signal("HUP");
    s.wait_log("\"reloaded\"");
    let r = radclient(s.auth, "auth", SECRET, &mab_request("0009fb123457", true));
    assert!(r.has("Tunnel-Private-Group-Id:0 = \"111\""), "{}", r.output);
}

#[test]
fn embedded_default_serves_loopback_with_the_demo_secret() {
    let dir = tempfile::tempdir().unwrap();
    // The default's ports are fixed (1812, 1813): run it in a network namespace of its own, with
    // only a loopback interface, so nothing else on the machine can hold them.
    let mut child = Command::new("unshare")
        .args([
            "-n",
            "--",
            "sh",
            "-c",
            "ip link set lo up && exec \"$0\" serve",
            bin(),
        ])
        .current_dir(dir.path())
        .env("WARDGATE_DATA_DIR", dir.path().join("data"))
        .env_remove("WARDGATE_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let lines = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let l2 = lines.clone();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            let mut g = l2.lock().unwrap();
            g.push_str(&l);
            g.push('\n');
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !lines.lock().unwrap().contains("ready") && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let r = radclient_in(
        Some(child.id()),
        "127.0.0.1:1812".parse().unwrap(),
        "auth",
        "testing123",
        &mab_request("00-25-96-FF-FE-12", true),
    );
    let text = lines.lock().unwrap().clone();
    let _ = child.kill();
    let _ = child.wait();
    assert!(text.contains("auth listening on 127.0.0.1:1812"), "{text}");
    assert!(
        text.contains("accounting listening on 127.0.0.1:1813"),
        "{text}"
    );
    assert!(text.contains("TEST secret"), "{text}");
    assert!(
        !text.contains("testing123"),
        "the secret itself is never logged: {text}"
    );
    assert!(dir.path().join("data/wardgate.db").exists());
    assert_eq!(r.code.as_deref(), Some("Access-Accept"), "{}", r.output);
    assert!(r.has("Tunnel-Private-Group-Id:0 = \"999\""), "{}", r.output);
}

#[test]
fn a_rule_on_a_repeated_attribute_matches_any_of_its_values() {
    let dir = tempfile::tempdir().unwrap();
    copy_policies(dir.path());
    std::fs::write(
        dir.path().join("05-avpair.toml"),
        "[[rule]]\nname = \"printers-by-mab-avpair\"\nwhen = { request.\"Cisco-AVPair\" = \"method=mab\", device.role = \"printer\" }\nsegment = \"building-systems\"\n",
    )
    .unwrap();
    let s = Server::start(Options {
        policy_dir: dir.path().to_path_buf(),
        devices_csv: Some(include_str!("../fixtures/hospital-devices.csv").to_string()),
        ..Options::default()
    });
    let req = format!(
        "{}Cisco-AVPair = \"service-type=call-check\"\nCisco-AVPair = \"audit-session-id=0A0B0C\"\nCisco-AVPair = \"method=mab\"\n",
        mab_request("3c5282aabb01", true)
    );
    let r = radclient(s.auth, "auth", SECRET, &req);
    assert!(r.has("Tunnel-Private-Group-Id:0 = \"150\""), "{}", r.output);
    // Without that value the rule does not match: the printers rule decides.
    let r = radclient(s.auth, "auth", SECRET, &mab_request("3c5282aabb01", true));
    assert!(r.has("Tunnel-Private-Group-Id:0 = \"140\""), "{}", r.output);
}

#[test]
fn serve_refuses_to_start_on_a_broken_policy_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    copy_policies(dir.path());
    std::fs::write(
        dir.path().join("15-broken.toml"),
        "[[rule]]\nname = \"x\"\nwhen = { methd = \"mab\" }\nreject = true\n",
    )
    .unwrap();
    let config = dir.path().join("w.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\ndata_dir = \"{}\"\nauth_listen = [\"127.0.0.1:0\"]\nacct_listen = [\"127.0.0.1:0\"]\n[policy]\ndir = \"{}\"\n[[client]]\nname = \"sw\"\naddress = \"127.0.0.1\"\nsecret = \"{SECRET}\"\n",
            dir.path().join("data").display(),
            dir.path().display()
        ),
    )
    .unwrap();
    let o = Command::new(bin())
        .args(["--config", config.to_str().unwrap(), "serve"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(all.contains("15-broken.toml:3:"), "{all}");
    assert!(all.contains("methd"), "{all}");
}

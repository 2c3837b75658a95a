//! The command line, run as the real binary.

use serde_json::json;

use crate::helpers::Sandbox;
use crate::recovery::simgate_command;

// Multi-threaded: the binary's blocking run must not starve the in-process sandbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalogue_sync_reports_what_it_stored_and_fails_loudly() {
    let sandbox = Sandbox::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("simgate.db");

    let migrated = simgate_command(&sandbox, &db, 5)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(migrated.status.success(), "{migrated:?}");

    let synced = simgate_command(&sandbox, &db, 5)
        .args(["catalogue", "sync"])
        .output()
        .unwrap();
    assert!(synced.status.success(), "{synced:?}");
    let stdout = String::from_utf8(synced.stdout).unwrap();
    let expected = format!("esim-go: stored {} products", sandbox.state.catalogue_len());
    assert!(stdout.contains(&expected), "{stdout}");

    sandbox
        .arm(json!({"kind": "status", "status": 500, "path": "/catalogue", "times": 10}))
        .await;
    let failed = simgate_command(&sandbox, &db, 5)
        .args(["catalogue", "sync", "--provider", "esim-go"])
        .output()
        .unwrap();
    assert!(!failed.status.success());
    let stderr = String::from_utf8(failed.stderr).unwrap();
    assert!(stderr.contains("esim-go: failed"), "{stderr}");

    let unknown = simgate_command(&sandbox, &db, 5)
        .args(["catalogue", "sync", "--provider", "acme"])
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    assert!(String::from_utf8(unknown.stderr).unwrap().contains("acme"));
}

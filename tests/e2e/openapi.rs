//! The OpenAPI document the service serves is the one checked in as
//! `docs/openapi.json`. `UPDATE_OPENAPI=1` rewrites the file from the service.

use crate::support::*;

#[tokio::test]
async fn the_checked_in_openapi_document_is_the_one_served() {
    let app = TestApp::spawn(Options::new("openapi")).await;
    let res = app.get("/api-docs/openapi.json").await;
    assert_eq!(res.status().as_u16(), 200);
    assert!(
        res.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"))
    );
    let served = res.text().await.expect("document body");
    let doc: serde_json::Value = serde_json::from_str(&served).expect("a JSON document");
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")),
        "OpenAPI 3.1"
    );
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
    if std::env::var("UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &served).expect("docs/openapi.json written");
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == served,
        "docs/openapi.json differs from what the service serves: run \
         `UPDATE_OPENAPI=1 scripts/test.sh -p tether-e2e openapi` and commit the file"
    );
    app.drop().await;
}

//! What the in-process tests of the routes share.

use actix_web::http::StatusCode;
use actix_web::{App, test, web};

/// The status and JSON body of the answer to `req` from an app that serves what
/// `configure` registers behind the request-id middleware, and the JSON 404 elsewhere.
pub(crate) async fn json_answer(
    configure: impl FnOnce(&mut web::ServiceConfig),
    req: test::TestRequest,
) -> (StatusCode, serde_json::Value) {
    let app = test::init_service(
        App::new()
            .wrap(crate::request_id::EchoRequestId)
            .configure(configure)
            .default_service(web::to(crate::routes::not_found)),
    )
    .await;
    let res = test::call_service(&app, req.to_request()).await;
    let status = res.status();
    (status, test::read_body_json(res).await)
}

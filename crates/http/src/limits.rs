//! Limits every request meets before its handler: the per-client rate limits of the
//! unauthenticated auth routes (429 `RATE_LIMITED` with `Retry-After`; refreshes have a
//! budget of their own, so a crowd signing in cannot cut everyone's refresh) and the time a
//! request body has to arrive (past it, reading the body fails and the JSON readers
//! answer 408 `REQUEST_TIMEOUT`).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{Error, HttpMessage, ResponseError, web};
use futures_util::Stream;

use crate::AppState;
use crate::error::ApiError;
use crate::rate_limit::ClientRateLimit;

/// The route whose budget is [`Limits::refresh_rate_limit`].
pub const REFRESH_ROUTE: &str = "/api/auth/refresh";

/// The routes a client may call without credentials, which the rate limits cover.
pub const RATE_LIMITED_ROUTES: [&str; 4] = [
    "/api/auth/workos/authorize",
    "/api/auth/workos/callback",
    "/api/auth/refresh",
    "/api/auth/logout",
];

/// The message of a read that ran out of time (the JSON readers map it to 408).
const BODY_TIMED_OUT: &str = "the request body did not arrive in time";

/// The request limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// How long the whole body may take to arrive (`REQUEST_BODY_TIMEOUT_MS`).
    pub body_timeout: Duration,
    /// The per-client rate limit of the login routes (all of
    /// the rate-limited routes but the refresh); `None` when `RATE_LIMIT_PER_MINUTE` is 0.
    pub rate_limit: Option<Arc<ClientRateLimit>>,
    /// The per-client rate limit of `POST /api/auth/refresh`; `None` when
    /// `REFRESH_RATE_LIMIT_PER_MINUTE` is 0.
    pub refresh_rate_limit: Option<Arc<ClientRateLimit>>,
    /// Proxies whose `X-Forwarded-For` names the client (`TRUSTED_PROXIES`), for the
    /// client address of the request's log line and of a login.
    pub trusted_proxies: Arc<[ipnet::IpNet]>,
}

impl Default for Limits {
    /// A 10 s body time-out, no rate limits, no trusted proxy.
    fn default() -> Self {
        Self {
            body_timeout: Duration::from_secs(10),
            rate_limit: None,
            refresh_rate_limit: None,
            trusted_proxies: Arc::from([]),
        }
    }
}

/// Middleware: refuses a client over its rate, then bounds the time of the body.
pub(crate) async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let limits = req.app_data::<web::Data<AppState>>().map(|s| s.limits.clone());
    let Some(limits) = limits else {
        return next.call(req).await.map(ServiceResponse::map_into_left_body);
    };
    // The path as the router matches it (percent-decoded), not as sent: an encoded
    // `/api/auth/%72efresh` reaches the same handler and must meet the same limit.
    let route = RATE_LIMITED_ROUTES
        .iter()
        .find(|r| **r == req.match_info().as_str());
    let limit = route.and_then(|route| {
        if *route == REFRESH_ROUTE {
            limits.refresh_rate_limit.as_ref()
        } else {
            limits.rate_limit.as_ref()
        }
    });
    if let (Some(route), Some(limit)) = (route, limit) {
        let forwarded: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .collect();
        let peer = req.peer_addr().map(|a| a.ip());
        if let Err(seconds) = limit.check(peer, &forwarded) {
            crate::metrics::record_rate_limited(route);
            let answer = ApiError::rate_limited(seconds).error_response();
            return Ok(req.into_response(answer).map_into_right_body());
        }
    }
    let payload = req.take_payload();
    if matches!(payload, Payload::None) {
        return next.call(req).await.map(ServiceResponse::map_into_left_body);
    }
    let bounded: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
        Box::pin(Deadline::new(payload, limits.body_timeout));
    req.set_payload(Payload::from(bounded));
    next.call(req).await.map(ServiceResponse::map_into_left_body)
}

/// A body stream that fails with a time-out once its deadline has passed.
struct Deadline<S> {
    inner: S,
    sleep: Pin<Box<tokio::time::Sleep>>,
    expired: bool,
}

impl<S> Deadline<S> {
    fn new(inner: S, limit: Duration) -> Self {
        Self {
            inner,
            sleep: Box::pin(tokio::time::sleep(limit)),
            expired: false,
        }
    }
}

impl<S> Stream for Deadline<S>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.expired {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.expired = true;
            return Poll::Ready(Some(Err(PayloadError::Io(io::Error::new(
                io::ErrorKind::TimedOut,
                BODY_TIMED_OUT,
            )))));
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt as _;

    use super::*;

    #[tokio::test]
    async fn a_body_that_stalls_fails_with_a_time_out_after_the_limit() {
        let stalled = futures_util::stream::pending::<Result<Bytes, PayloadError>>();
        let mut body = Deadline::new(stalled, Duration::from_millis(30));
        match body.next().await {
            Some(Err(PayloadError::Io(e))) => assert_eq!(e.kind(), io::ErrorKind::TimedOut),
            other => panic!("expected a time-out, got {other:?}"),
        }
        assert!(body.next().await.is_none());
    }

    #[tokio::test]
    async fn a_body_in_time_passes_unchanged() {
        let chunks = futures_util::stream::iter([Ok(Bytes::from_static(b"{}"))]);
        let mut body = Deadline::new(chunks, Duration::from_secs(5));
        assert_eq!(body.next().await.unwrap().unwrap(), Bytes::from_static(b"{}"));
        assert!(body.next().await.is_none());
    }
}

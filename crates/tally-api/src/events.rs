//! `POST /v1/events`: one CloudEvent (`application/cloudevents+json` or
//! `application/json`), a batch (`application/cloudevents-batch+json`, a JSON array)
//! or NDJSON (`application/x-ndjson`), validated by the same decoder as every other
//! path; in embedded mode written through the intake (durable batch, store dedupe), in
//! Kafka mode produced to the usage topic (acknowledged by the broker). It answers once
//! the events are durable: 202 with per-event results for a batch; 400 with the reason for a single
//! rejected event (kept in `rejected_events` like every dead letter); 400 for a body
//! that is not a batch at all (nothing stored); 413 above the body limit; 415 for
//! another media type; 429 with `Retry-After` beyond `http.max_in_flight` concurrent
//! event requests; 503 with `Retry-After` when the store does not answer in time
//! (sending again is safe: events count once).

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use tally_ingest::Outcome;

use crate::Api;

/// How long a request waits for its events to be durable before answering 503.
const STORE_WAIT: Duration = Duration::from_secs(30);

/// A JSON error body with a stable code.
fn error(status: StatusCode, code: &'static str, message: impl Into<String>) -> Response {
    crate::ApiError::new(status, code, message).into_response()
}

fn reply(status: StatusCode, body: Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string() + "\n").into_response()
}

/// How the body carries its events.
enum Shape {
    One,
    Batch,
    Lines,
}

fn shape(headers: &HeaderMap) -> Result<Shape, Response> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/json");
    let media = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match media.as_str() {
        "application/cloudevents+json" | "application/json" => Ok(Shape::One),
        "application/cloudevents-batch+json" => Ok(Shape::Batch),
        "application/x-ndjson" | "application/jsonl" => Ok(Shape::Lines),
        other => Err(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "content-type {other:?}: send application/cloudevents+json, application/cloudevents-batch+json or application/x-ndjson"
            ),
        )),
    }
}

/// The handler.
pub async fn post(State(api): State<Api>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    // Back-pressure: beyond `http.max_in_flight` event requests, say so at once (429)
    // rather than queueing behind a slow store or broker.
    let Ok(_permit) = api.in_flight.clone().try_acquire_owned() else {
        let mut response = error(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "too many event requests in flight; send again shortly (events already stored count once)",
        );
        response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        return response;
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return error(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", rejection.body_text());
        }
        Err(rejection) => return error(rejection.status(), "unreadable_body", rejection.body_text()),
    };
    let shape = match shape(&headers) {
        Ok(shape) => shape,
        Err(response) => return response,
    };
    let messages: Vec<&[u8]> = match shape {
        Shape::One => vec![&body[..]],
        Shape::Batch => match serde_json::from_slice::<Vec<&RawValue>>(&body) {
            Ok(items) if items.is_empty() => {
                return error(StatusCode::BAD_REQUEST, "empty_batch", "the batch holds no event");
            }
            Ok(items) => items.into_iter().map(|raw| raw.get().as_bytes()).collect(),
            Err(err) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_batch",
                    format!("the body is not a JSON array of events ({err}); nothing was stored"),
                );
            }
        },
        Shape::Lines => body.split(|b| *b == b'\n').filter_map(tally_ingest::ndjson::message).collect(),
    };
    if messages.is_empty() {
        return error(StatusCode::BAD_REQUEST, "empty_batch", "the body holds no event");
    }
    let code = api.events.unavailable_code();
    let outcomes = match tokio::time::timeout(STORE_WAIT, api.events.write(messages)).await {
        Ok(Ok(outcomes)) => outcomes,
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "events not stored");
            return unavailable(code, &err.to_string());
        }
        Err(_) => return unavailable(code, "no answer in time"),
    };
    let accepted = outcomes.iter().filter(|o| matches!(o, Outcome::Accepted { .. })).count();
    if let (Shape::One, [Outcome::Rejected { reason, detail }]) = (&shape, outcomes.as_slice()) {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({ "code": "rejected", "reason": reason.code(), "message": detail }),
        );
    }
    let results: Vec<Value> = outcomes
        .iter()
        .map(|o| match o {
            Outcome::Accepted { .. } => json!({ "status": "accepted" }),
            Outcome::Rejected { reason, detail } => {
                json!({ "status": "rejected", "reason": reason.code(), "message": detail })
            }
        })
        .collect();
    let mut body = json!({ "accepted": accepted, "rejected": outcomes.len() - accepted });
    if !matches!(shape, Shape::One) {
        body["results"] = Value::Array(results);
    }
    reply(StatusCode::ACCEPTED, body)
}

fn unavailable(code: &'static str, message: &str) -> Response {
    let mut response = error(
        StatusCode::SERVICE_UNAVAILABLE,
        code,
        format!("{message}; send again later (events already stored count once)"),
    );
    response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
    response
}

//! API errors: a status, a stable machine-readable `code`, and a message for people.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::auth::Role;

/// An error answered as `{"code": ..., "message": ...}`.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Stable code (`not_found`, `invalid_parameter`, ...).
    pub code: &'static str,
    /// What went wrong, naming the field.
    pub message: String,
}

impl ApiError {
    /// Any status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into() }
    }

    /// 400 for a query or path parameter.
    pub fn invalid(field: &str, why: impl std::fmt::Display) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_parameter", format!("{field}: {why}"))
    }

    /// 404.
    pub fn not_found(what: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", what)
    }

    /// 401.
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send a valid API token as Authorization: Bearer <token>",
        )
    }

    /// 403.
    pub fn forbidden(role: Role, needed: Role) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("this token's role ({role:?}) may not do this; it needs the {needed:?} role").to_lowercase(),
        )
    }

    /// 503 for a store that fails: the request can be sent again.
    pub fn store(err: impl std::fmt::Display) -> ApiError {
        tracing::warn!(error = %err, "store error answering a request");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", format!("the store failed: {err}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "code": self.code, "message": self.message }).to_string() + "\n";
        (self.status, [(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}

/// A query string that does not parse: 400 naming the parameter.
pub fn query<T>(
    query: Result<axum::extract::Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, ApiError> {
    query.map(|q| q.0).map_err(|rejection| {
        let text = rejection.body_text();
        let detail = text.strip_prefix("Failed to deserialize query string: ").unwrap_or(&text).to_owned();
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_parameter", format!("the query string: {detail}"))
    })
}

/// Unknown routes.
pub async fn not_found() -> ApiError {
    ApiError::not_found("no such route; see /openapi.json")
}

/// A JSON body into `T`, or 400 `invalid_body` naming the field that is wrong.
pub fn body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut json = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut json).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = if path == "." { format!("the body: {inner}") } else { format!("{path}: {inner}") };
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", message)
    })
}

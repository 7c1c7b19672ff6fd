//! API tokens and roles. Tokens are never stored or configured in clear: the
//! configuration holds their SHA-256 (hex), and a request's bearer token is hashed and
//! looked up. Tokens are never logged; the token's *name* is, for the audit trail.

use std::collections::HashMap;

use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::Api;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Send events (`POST /v1/events`) and nothing else: for producers.
    Ingest,
    /// Read everything (usage, previews, invoices, accounts): for portals and reports.
    Read,
    /// Everything, including changes (void, credit notes): for billing staff.
    Admin,
}

impl std::str::FromStr for Role {
    type Err = String;

    /// `ingest`, `read` or `admin`, as configured.
    fn from_str(name: &str) -> Result<Role, String> {
        match name {
            "ingest" => Ok(Role::Ingest),
            "read" => Ok(Role::Read),
            "admin" => Ok(Role::Admin),
            other => Err(format!("{other:?}: expected ingest, read or admin")),
        }
    }
}

impl Role {
    fn may(self, needed: Role) -> bool {
        self == Role::Admin || self == needed
    }
}

/// One configured token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Token {
    /// Who holds it (logged with each request it authorizes).
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// SHA-256 of the token, lowercase hex (`tally token new` prints it).
    pub sha256: String,
}

/// The configured tokens, by hash.
#[derive(Debug, Default)]
pub struct Tokens {
    by_hash: HashMap<String, (String, Role)>,
}

impl Tokens {
    /// Indexes the tokens; a hash that is not 64 hex digits is refused with its name.
    pub fn new(tokens: &[Token]) -> Result<Tokens, String> {
        let mut by_hash = HashMap::new();
        for token in tokens {
            let hash = token.sha256.to_ascii_lowercase();
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("token {:?}: sha256 must be 64 hex digits", token.name));
            }
            if by_hash.insert(hash, (token.name.clone(), token.role)).is_some() {
                return Err(format!("token {:?}: the same token is configured twice", token.name));
            }
        }
        Ok(Tokens { by_hash })
    }

    /// Whether no token is configured (then every request is refused).
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    fn find(&self, token: &str) -> Option<&(String, Role)> {
        self.by_hash.get(&hash_token(token))
    }
}

/// SHA-256 of a token, lowercase hex: what the configuration holds.
pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The role a request needs: events need `ingest`, reads `read`, changes `admin`.
fn needed(method: &Method, path: &str) -> Role {
    if path == "/v1/events" {
        Role::Ingest
    } else if method == Method::GET || method == Method::HEAD {
        Role::Read
    } else {
        Role::Admin
    }
}

/// The middleware: 401 without a known token, 403 without the role.
pub async fn check(State(api): State<Api>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    let Some((name, role)) = presented.and_then(|t| api.tokens.find(t)) else {
        let mut response = ApiError::unauthorized().into_response();
        response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        return response;
    };
    let need = needed(request.method(), request.uri().path());
    if !role.may(need) {
        tracing::info!(token = %name, method = %request.method(), path = %request.uri().path(), "forbidden");
        return ApiError::forbidden(*role, need).into_response();
    }
    tracing::debug!(token = %name, method = %request.method(), path = %request.uri().path(), "authorized");
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_sha256_hex() {
        // printf abc | sha256sum
        assert_eq!(hash_token("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn roles_allow_what_they_name_and_admin_everything() {
        let events = needed(&Method::POST, "/v1/events");
        let read = needed(&Method::GET, "/v1/invoices");
        let change = needed(&Method::POST, "/v1/invoices/x/void");
        assert!(Role::Ingest.may(events) && !Role::Ingest.may(read) && !Role::Ingest.may(change));
        assert!(!Role::Read.may(events) && Role::Read.may(read) && !Role::Read.may(change));
        assert!(Role::Admin.may(events) && Role::Admin.may(read) && Role::Admin.may(change));
    }

    #[test]
    fn malformed_or_repeated_hashes_are_refused_by_name() {
        let token = |name: &str, sha256: &str| Token { name: name.into(), role: Role::Read, sha256: sha256.into() };
        let err = Tokens::new(&[token("portal", "abc")]).unwrap_err();
        assert!(err.contains("portal") && err.contains("64 hex"), "{err}");
        let h = hash_token("t");
        let err = Tokens::new(&[token("a", &h), token("b", &h.to_uppercase())]).unwrap_err();
        assert!(err.contains("twice"), "{err}");
    }
}

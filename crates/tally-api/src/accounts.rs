//! Customers and subscriptions, read: `GET /v1/customers[/{id}]`,
//! `GET /v1/subscriptions[/{id}]` (`?customer=` narrows the list).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;
use tally_domain::{Customer, CustomerId, Subscription, SubscriptionId};
use tally_store::AccountStore;

use crate::{Api, ApiError};

/// `GET /v1/customers`.
pub async fn customers(State(api): State<Api>) -> Result<Json<Vec<Customer>>, ApiError> {
    api.store.customers().await.map(Json).map_err(ApiError::store)
}

/// `GET /v1/customers/{id}`.
pub async fn customer(State(api): State<Api>, Path(id): Path<String>) -> Result<Json<Customer>, ApiError> {
    api.store
        .customer(&CustomerId::new(id.clone()))
        .await
        .map_err(ApiError::store)?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no customer {id}")))
}

/// Filters of the subscription list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionFilter {
    customer: Option<String>,
}

/// `GET /v1/subscriptions`.
pub async fn subscriptions(
    State(api): State<Api>,
    filter: Result<Query<SubscriptionFilter>, QueryRejection>,
) -> Result<Json<Vec<Subscription>>, ApiError> {
    let customer = crate::error::query(filter)?.customer.map(CustomerId::new);
    api.store.subscriptions(customer.as_ref()).await.map(Json).map_err(ApiError::store)
}

/// `GET /v1/subscriptions/{id}`.
pub async fn subscription(State(api): State<Api>, Path(id): Path<String>) -> Result<Json<Subscription>, ApiError> {
    api.store
        .subscription(&SubscriptionId::new(id.clone()))
        .await
        .map_err(ApiError::store)?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no subscription {id}")))
}

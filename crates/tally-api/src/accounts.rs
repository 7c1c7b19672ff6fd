//! Customers and subscriptions: `GET /v1/customers[/{id}]`, `GET
//! /v1/subscriptions[/{id}]` (`?customer=` narrows the list); with the admin role,
//! `POST` creates (201, 409 if the id exists) and `PATCH` changes them (a plan change
//! from an instant on, an end), validated against the catalog like the CLI does.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use tally_domain::{AccountError, Currency, Customer, CustomerId, PlanKey, Subscription, SubscriptionId};
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

/// `POST /v1/customers`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    id: String,
    name: String,
    currency: String,
    timezone: String,
    #[serde(default)]
    billing_details: BTreeMap<String, String>,
}

/// `PATCH /v1/customers/{id}`'s body: what changes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerChange {
    #[serde(default, deserialize_with = "present")]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    currency: Option<String>,
    #[serde(default, deserialize_with = "present")]
    timezone: Option<String>,
    /// Replaces the billing details when given.
    #[serde(default, deserialize_with = "present")]
    billing_details: Option<BTreeMap<String, String>>,
}

/// A field that may be left out but not given as `null` (which would read as "keep it"
/// and hide a client's mistake).
fn present<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

fn currency(code: &str) -> Result<Currency, ApiError> {
    code.parse().map_err(|e| ApiError::invalid("currency", format!("{code:?}: {e}")))
}

fn zone(name: &str) -> Result<Tz, ApiError> {
    name.parse()
        .map_err(|_| ApiError::invalid("timezone", format!("{name:?} is not an IANA time zone (e.g. Europe/Berlin)")))
}

fn non_empty<'a>(field: &str, value: &'a str) -> Result<&'a str, ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::invalid(field, "is empty"));
    }
    Ok(value)
}

/// `POST /v1/customers`: 201 with the customer; 409 if the id exists.
pub async fn create_customer(State(api): State<Api>, body: Bytes) -> Result<Response, ApiError> {
    let new: NewCustomer = crate::error::body(&body)?;
    let customer = Customer {
        id: CustomerId::new(non_empty("id", &new.id)?),
        name: non_empty("name", &new.name)?.to_owned(),
        currency: currency(&new.currency)?,
        timezone: zone(&new.timezone)?,
        billing_details: new.billing_details,
    };
    customer.validate().map_err(account_error)?;
    if api.store.customer(&customer.id).await.map_err(ApiError::store)?.is_some() {
        return Err(ApiError::new(StatusCode::CONFLICT, "exists", format!("customer {} exists already", customer.id)));
    }
    api.store.put_customer(&customer).await.map_err(ApiError::store)?;
    Ok((StatusCode::CREATED, Json(customer)).into_response())
}

/// `PATCH /v1/customers/{id}`.
pub async fn update_customer(
    State(api): State<Api>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Customer>, ApiError> {
    let change: CustomerChange = crate::error::body(&body)?;
    let id = CustomerId::new(id);
    let mut customer = api
        .store
        .customer(&id)
        .await
        .map_err(ApiError::store)?
        .ok_or_else(|| ApiError::not_found(format!("no customer {id}")))?;
    if let Some(name) = &change.name {
        customer.name = non_empty("name", name)?.to_owned();
    }
    if let Some(code) = &change.currency {
        let new = currency(code)?;
        if new != customer.currency && !api.store.subscriptions(Some(&id)).await.map_err(ApiError::store)?.is_empty() {
            return Err(ApiError::invalid(
                "currency",
                format!("customer {id} has subscriptions priced in {}; end them first", customer.currency),
            ));
        }
        customer.currency = new;
    }
    if let Some(name) = &change.timezone {
        customer.timezone = zone(name)?;
    }
    if let Some(details) = change.billing_details {
        customer.billing_details = details;
    }
    customer.validate().map_err(account_error)?;
    api.store.put_customer(&customer).await.map_err(ApiError::store)?;
    Ok(Json(customer))
}

/// `POST /v1/subscriptions`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    id: String,
    customer: String,
    plan: String,
    start: DateTime<Utc>,
    end: Option<DateTime<Utc>>,
    /// The local date periods count from (default: the start's local date).
    anchor: Option<NaiveDate>,
}

/// A plan change: `plan` from `at` on.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanChange {
    plan: String,
    at: DateTime<Utc>,
}

/// `PATCH /v1/subscriptions/{id}`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionChange {
    change_plan: Option<PlanChange>,
    /// Revise the invoices a change dated inside invoiced periods makes wrong (else 409).
    #[serde(default)]
    revise: bool,
    /// The end; `null` removes it.
    #[serde(default, with = "double_option")]
    end: Option<Option<DateTime<Utc>>>,
}

/// Tells `"end": null` (remove the end) from no `end` at all (keep it).
mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

fn account_error(err: AccountError) -> ApiError {
    match err {
        AccountError::Invalid { field, message } => ApiError::invalid(&field, message),
    }
}

/// `POST /v1/subscriptions`: 201; 409 if the id exists; 400 naming the field otherwise.
pub async fn create_subscription(State(api): State<Api>, body: Bytes) -> Result<Response, ApiError> {
    let new: NewSubscription = crate::error::body(&body)?;
    let id = SubscriptionId::new(non_empty("id", &new.id)?);
    if api.store.subscription(&id).await.map_err(ApiError::store)?.is_some() {
        return Err(ApiError::new(StatusCode::CONFLICT, "exists", format!("subscription {id} exists already")));
    }
    let owner = api
        .store
        .customer(&CustomerId::new(new.customer.clone()))
        .await
        .map_err(ApiError::store)?
        .ok_or_else(|| ApiError::invalid("customer", format!("no customer {}", new.customer)))?;
    let subscription = Subscription::new(id, &owner, PlanKey::new(new.plan), new.start, new.end, new.anchor);
    subscription.validate(&owner, &api.catalog).map_err(account_error)?;
    subscription.validate_dates(chrono::Utc::now(), api.horizon, owner.timezone).map_err(account_error)?;
    api.store.put_subscription(&subscription).await.map_err(ApiError::store)?;
    Ok((StatusCode::CREATED, Json(subscription)).into_response())
}

/// `PATCH /v1/subscriptions/{id}`: change the plan from an instant on, set or remove the end.
pub async fn update_subscription(
    State(api): State<Api>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Subscription>, ApiError> {
    let change: SubscriptionChange = crate::error::body(&body)?;
    let id = SubscriptionId::new(id);
    let mut subscription = api
        .store
        .subscription(&id)
        .await
        .map_err(ApiError::store)?
        .ok_or_else(|| ApiError::not_found(format!("no subscription {id}")))?;
    let now = chrono::Utc::now();
    if let Some(change) = &change.change_plan {
        api.horizon.check("change_plan.at", change.at, now).map_err(account_error)?;
    }
    if let Some(Some(end)) = change.end {
        api.horizon.check("end", end, now).map_err(account_error)?;
    }
    if let Some(change) = change.change_plan {
        subscription.change_plan(PlanKey::new(change.plan), change.at).map_err(account_error)?;
    }
    if let Some(end) = change.end {
        subscription.end = end;
    }
    let owner =
        api.store.customer(&subscription.customer).await.map_err(ApiError::store)?.ok_or_else(|| {
            ApiError::not_found(format!("the subscription's customer {} is gone", subscription.customer))
        })?;
    subscription.validate(&owner, &api.catalog).map_err(account_error)?;
    let prefixes = (api.prefixes.0.as_str(), api.prefixes.1.as_str());
    tally_invoicer::change_subscription(
        &*api.store,
        &api.catalog,
        &subscription,
        change.revise,
        now,
        prefixes,
        api.terms(),
    )
    .await
    .map_err(crate::invoices::invoicer_error)?;
    Ok(Json(subscription))
}

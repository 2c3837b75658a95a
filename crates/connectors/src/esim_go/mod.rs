//! eSIM Go (API v2.4): the richest eSIM provider, synchronous orders.
//!
//! Assumptions where the reference is silent (each mirrored by the sandbox):
//! - `GET /networks` answers `{"countryNetworks":[{name, iso, networks:[{name, brandName, mcc, mnc, speed}]}]}`.
//! - `GET /orders` answers a bare list (as the reference shows); a wrapped
//!   `{"orders": [...]}` is accepted too.
//! - Order statuses other than `completed` are unpublished: they map to
//!   `fulfilling` (still in progress), never to a failure we cannot prove.
//! - 429 and 503 answers mean the request was not processed, so even
//!   `POST /orders` is retried on them (bounded, honouring `Retry-After`).
//! - `POST /inventory/refund` and `PUT /esims` answer `{"message": "..."}`.
//! - A catalogue page holds at most 1,000 bundles.
//! - An order assigning more than five eSIMs answers status `processing`
//!   without eSIMs (the reference says such orders are asynchronous); its
//!   eSIMs appear later in `GET /orders/{ref}` and `/esims/assignments`.

pub mod client;
pub mod transform;
pub mod types;

pub use client::{EsimGoClient, EsimGoConfig, RevokeMode};

/// This provider's entry in simgate's provider table.
pub const DESCRIPTOR: crate::descriptor::ProviderDescriptor =
    crate::descriptor::ProviderDescriptor {
        id: simgate_domain::ProviderId::EsimGo,
        kind: crate::descriptor::ProviderKind::Esim,
        name: "eSIM Go",
        section: "esim_go",
    };

//! Identifiers of tenants, webhook endpoints, events and deliveries.
//!
//! Each is a prefixed string (`ten_…`, `whe_…`, `evt_…`, `dlv_…`) on the
//! wire and in storage. Giving each its own type lets the compiler catch an
//! endpoint id passed where an event id belongs, which plain `String`s
//! never did; the prefix rule is checked once, where an id enters from a URL.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// Longest id part after the prefix that [`parse`](TenantId::parse) accepts:
/// generated ids have 32 characters, hand-made ones (`ten_sandbox`) fewer.
const MAX_BODY_CHARS: usize = 64;

/// Defines one prefixed id type; `$fresh` makes the UUID of a new one.
macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $fresh:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String, example = json!(concat!($prefix, "_0193e4a1c2b37d4e8f9a0b1c2d3e4f50")))]
        pub struct $name(String);

        impl $name {
            /// The prefix every id of this kind starts with, before `_`.
            pub const PREFIX: &'static str = $prefix;

            /// A new id in the form simgate has always generated:
            /// the prefix, `_` and a UUID in simple (hex) form.
            pub fn generate() -> Self {
                let fresh: uuid::Uuid = $fresh;
                Self(format!("{}_{}", $prefix, fresh.simple()))
            }

            /// Checks an id that comes from outside (a URL, a query): the
            /// prefix, `_`, then 1 to 64 ASCII letters or digits. Anything
            /// else can name no stored id, so callers answer "not found".
            pub fn parse(raw: &str) -> Result<Self, DomainError> {
                let body = raw
                    .strip_prefix($prefix)
                    .and_then(|rest| rest.strip_prefix('_'))
                    .filter(|body| {
                        (1..=MAX_BODY_CHARS).contains(&body.len())
                            && body.bytes().all(|b| b.is_ascii_alphanumeric())
                    });
                match body {
                    Some(_) => Ok(Self(raw.to_owned())),
                    None => Err(DomainError::InvalidId {
                        kind: stringify!($name),
                        raw: raw.to_owned(),
                    }),
                }
            }

            /// An id read back from storage, taken as it is: it was made or
            /// checked on its way in, and older rows keep the form they had.
            pub fn from_stored(raw: impl Into<String>) -> Self {
                Self(raw.into())
            }

            /// The id as stored and sent.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = DomainError;

            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                Self::parse(raw)
            }
        }
    };
}

prefixed_id!(
    /// A reseller account (`ten_…`): owns orders, lines, endpoints and events.
    TenantId,
    "ten",
    uuid::Uuid::new_v4()
);
prefixed_id!(
    /// A tenant's webhook endpoint (`whe_…`), where its events are sent.
    EndpointId,
    "whe",
    uuid::Uuid::now_v7()
);
prefixed_id!(
    /// An outbound event (`evt_…`); also the `webhook-id` of its deliveries.
    /// Time-ordered, so ids sort as the events happened.
    EventId,
    "evt",
    uuid::Uuid::now_v7()
);
prefixed_id!(
    /// One delivery of an event to one endpoint (`dlv_…`).
    DeliveryId,
    "dlv",
    uuid::Uuid::now_v7()
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_back_and_carry_their_prefix() {
        let tenant = TenantId::generate();
        assert!(tenant.as_str().starts_with("ten_"));
        assert_eq!(tenant.as_str().len(), "ten_".len() + 32);
        assert_eq!(TenantId::parse(tenant.as_str()), Ok(tenant.clone()));
        assert_ne!(tenant, TenantId::generate());
        let event = EventId::generate();
        assert!(event.to_string().starts_with("evt_"));
        assert_eq!(event.as_str().parse::<EventId>(), Ok(event));
        assert!(EndpointId::generate().as_str().starts_with("whe_"));
        assert!(DeliveryId::generate().as_str().starts_with("dlv_"));
    }

    #[test]
    fn ids_are_ordered_as_they_were_made() {
        let first = EventId::generate();
        let second = EventId::generate();
        assert!(first < second);
    }

    #[test]
    fn parse_refuses_other_kinds_and_malformed_ids() {
        assert!(TenantId::parse("ten_sandbox").is_ok());
        for raw in [
            "",
            "ten",
            "ten_",
            "evt_0193e4a1",
            "ten_a/b",
            "ten_a b",
            "TEN_abc",
            "ten_é",
            &format!("ten_{}", "a".repeat(65)),
        ] {
            let error = TenantId::parse(raw).unwrap_err();
            assert_eq!(error.code(), "invalid_id", "{raw:?}");
        }
        assert!(EventId::parse("whe_abc").is_err());
    }

    #[test]
    fn ids_are_plain_strings_on_the_wire() {
        let id = EndpointId::parse("whe_abc123").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), r#""whe_abc123""#);
        let back: EndpointId = serde_json::from_str(r#""whe_abc123""#).unwrap();
        assert_eq!(back, id);
    }
}

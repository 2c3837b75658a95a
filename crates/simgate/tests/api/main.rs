//! End-to-end tests: the real server over HTTP against the real sandbox.

// A failed step in a test is the test failing: unwrap and expect say so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod bad_input;
mod balances;
mod catalogue;
mod cli;
mod console;
mod console_faults;
mod console_ops;
mod contract;
mod docs_ui;
mod endpoint_secrets;
mod esim_go_ops;
mod esim_list;
mod esim_story;
mod esims;
mod events;
mod failover;
mod faults;
mod faulty;
mod health;
mod helpers;
mod instances;
mod limits;
mod lines;
mod observability;
mod offers;
mod operations;
mod orders;
mod postgres;
mod pricing;
mod rate_limits;
mod reconcile;
mod recovery;
mod routing;
mod secrets;
mod sim_local;
mod sim_orders;
mod system;
mod telnyx_list;
mod tenancy;
mod usage_callbacks;
mod webhook_secrets;
mod webhook_targets;

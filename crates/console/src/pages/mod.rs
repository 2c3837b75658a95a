//! One module per page (or group of pages) of the console.

pub(crate) mod account;
pub(crate) mod catalogue;
pub(crate) mod dashboard;
pub(crate) mod esims;
pub(crate) mod faults;
pub(crate) mod lines;
pub(crate) mod login;
pub(crate) mod orders;
pub(crate) mod pricing;
pub(crate) mod providers;
pub(crate) mod routing;
pub(crate) mod sim_orders;
pub(crate) mod webhooks;

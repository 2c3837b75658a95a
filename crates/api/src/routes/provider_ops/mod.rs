//! `/v1/providers/{provider}/…`: operations only one provider has, one
//! folder per provider. Each folder's `router()` lists its routes with
//! their OpenAPI descriptions; `api_routes` merges it in one line.

pub mod esim_go;
pub mod telnyx;

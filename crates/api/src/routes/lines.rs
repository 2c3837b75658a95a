//! Subscriber lines (`/v1/lines`) and the provider account's inventory
//! around them: offers, numbers, SIMs, ports, groups and subscribers.
//!
//! The account is the operator's and every tenant shares it, so each tenant
//! sees only what sits behind its own lines (plus the catalogue and the
//! numbers free to provision); the operator's key sees it whole and is the
//! only one that may add numbers or groups to it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use simgate_domain::entities::LineRecord;
use simgate_domain::{
    CountryCode, DomainError, Group, Iccid, InventoryState, Line, LineBundle, LineEsim, LineOffer,
    LineServices, LineSettings, LineUc, Msisdn, PhoneNumber, Port, PortState, ProviderId,
    ProvisionLine, Recording, SimCard, SimKind, Subscriber, SubscriberFilter,
    line::iccid_from_short_form,
};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::auth::AuthTenant;
use crate::extract::{ApiJson, ApiQuery};
use crate::operator::{Caller, Operator};
use crate::problem::{ApiError, Problem};
use crate::qr::{self, Caching};
use crate::routes::{required, required_text};

fn parse_mpn(raw: &str) -> Result<Msisdn, ApiError> {
    Ok(Msisdn::parse(raw)?)
}

/// A printed ICCID (19–20 digits, Luhn-checked) or the 19-digit form with
/// the check digit dropped, which is converted rather than refused.
fn parse_line_iccid(raw: &str) -> Result<Iccid, ApiError> {
    match Iccid::parse(raw) {
        Ok(iccid) => Ok(iccid),
        Err(error) => {
            let digits = raw.trim();
            if digits.len() == 19 && digits.bytes().all(|b| b.is_ascii_digit()) {
                Ok(iccid_from_short_form(digits)?)
            } else {
                Err(error.into())
            }
        }
    }
}

/// Whose UC platform a new line joins.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UcKind {
    /// The reseller's own PBX.
    Own,
    /// The provider's UC (ONSIM UC).
    Provider,
}

/// A line to provision.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLine {
    #[schema(schema_with = crate::openapi::line_provider)]
    pub provider: Option<ProviderId>,
    /// E.164 number, `+447777777777` or `447777777777`.
    #[schema(pattern = r"^(\+|00)?[1-9][0-9]{7,14}$", example = "447700900001")]
    pub mpn: String,
    /// A physical SIM to use (printed ICCID, or the 19-digit short form);
    /// without one the provider's next free eSIM is used.
    #[schema(pattern = r"^89[0-9]{17,18}$")]
    pub iccid: Option<String>,
    pub uc: UcKind,
    /// Own UC: SIP username (defaults to the provider's choice).
    pub pbx_user: Option<String>,
    /// Own UC: SIP password (generated and returned when absent).
    pub pbx_password: Option<String>,
    /// Provider UC: the customer group.
    pub group_name: Option<String>,
    /// Provider UC: ISO 3166-1 alpha-2 or alpha-3 (`GB`, `GBR`).
    pub home_location: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    /// Provider UC: product id from `GET /v1/line-offers`.
    pub product: Option<u32>,
    /// Provider UC: `BACKGROUND-ONLY`, `2GB`, `4GB`, `10GB`, `20GB` or `UNLIMITED`.
    pub mobile_data: Option<String>,
}

impl std::fmt::Debug for CreateLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateLine")
            .field("mpn", &self.mpn)
            .field("uc", &self.uc)
            .finish_non_exhaustive()
    }
}

fn country(raw: &str) -> Result<CountryCode, DomainError> {
    if raw.trim().len() == 3 {
        CountryCode::from_alpha3(raw)
    } else {
        CountryCode::parse(raw)
    }
}

impl CreateLine {
    fn into_request(self) -> Result<ProvisionLine, ApiError> {
        let uc = match self.uc {
            UcKind::Own => LineUc::Own {
                pbx_user: self.pbx_user,
                pbx_password: self.pbx_password,
            },
            UcKind::Provider => LineUc::Onsim {
                group_name: required_text(self.group_name, "group_name")?,
                home_location: country(&required_text(self.home_location, "home_location")?)?,
                first_name: required_text(self.first_name, "first_name")?,
                last_name: required_text(self.last_name, "last_name")?,
                email: required_text(self.email, "email")?,
                product: required(self.product, "product")?,
                mobile_data: required_text(self.mobile_data, "mobile_data")?,
            },
        };
        Ok(ProvisionLine {
            mpn: parse_mpn(&self.mpn)?,
            iccid: self.iccid.as_deref().map(parse_line_iccid).transpose()?,
            uc,
        })
    }
}

/// The eSIM of a line: the same install details as any other eSIM.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LineEsimView {
    pub iccid: Option<String>,
    pub smdp_address: String,
    pub matching_id: String,
    /// `LPA:1$<SM-DP+>$<matching id>`, what the QR code holds.
    pub activation_code: String,
    pub apple_install_url: String,
    pub android_install_url: String,
    /// `installed` or `ready to install`, as the provider says.
    pub status: String,
    pub enabled_on_device: Option<bool>,
    /// Whether a requested refresh was actioned, in the provider's words.
    pub refresh: Option<String>,
    pub qr_png_url: String,
    pub qr_svg_url: String,
}

fn esim_view(mpn: &Msisdn, iccid: Option<Iccid>, esim: LineEsim) -> LineEsimView {
    let code = &esim.activation_code;
    LineEsimView {
        iccid: iccid.map(|i| i.to_string()),
        smdp_address: code.smdp_address.clone(),
        matching_id: code.matching_id.clone(),
        activation_code: code.to_string(),
        apple_install_url: code.apple_install_url(),
        android_install_url: code.android_install_url(),
        status: esim.status,
        enabled_on_device: esim.enabled_on_device,
        refresh: esim.refresh,
        qr_png_url: format!("/v1/lines/{mpn}/esim/qr.png"),
        qr_svg_url: format!("/v1/lines/{mpn}/esim/qr.svg"),
    }
}

/// A provisioned line. `pbx_password` is shown here once and never again.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ProvisionedView {
    pub mpn: String,
    pub iccid: Option<String>,
    pub activation_code: Option<String>,
    pub sip_username: Option<String>,
    pub pbx_password: Option<String>,
}

/// Provisions a line: number, SIM, services and, on the provider's UC, a
/// SIP account. The number is claimed for the tenant before the call.
#[utoipa::path(post, operation_id = "provisionLine", path = "/v1/lines", tag = "lines", request_body = CreateLine,
    responses((status = 201, body = ProvisionedView), (status = 400, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 502, body = Problem)))]
pub async fn provision(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    ApiJson(body): ApiJson<CreateLine>,
) -> Result<(StatusCode, Json<ProvisionedView>), ApiError> {
    let provider = body.provider;
    let request = body.into_request()?;
    let provisioned = state
        .services
        .provision_line(&tenant.id, provider, &request)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ProvisionedView {
            mpn: request.mpn.to_string(),
            iccid: provisioned.iccid.or(request.iccid).map(|i| i.to_string()),
            activation_code: provisioned.activation_code.map(|c| c.to_string()),
            sip_username: provisioned.sip_username,
            pbx_password: provisioned.pbx_password,
        }),
    ))
}

/// A tenant's line as simgate records it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LineSummary {
    pub mpn: String,
    pub provider: String,
    pub iccid: Option<String>,
    /// `provisioning`, `active` or `ceased`.
    pub status: String,
    pub created_at: DateTime<Utc>,
}

impl From<LineRecord> for LineSummary {
    fn from(r: LineRecord) -> Self {
        Self {
            mpn: r.mpn.to_string(),
            provider: r.provider.to_string(),
            iccid: r.iccid.map(|i| i.to_string()),
            status: r.status.as_str().to_owned(),
            created_at: r.created_at,
        }
    }
}

/// The tenant's lines.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LineList {
    pub data: Vec<LineSummary>,
}

/// The tenant's lines, newest first.
#[utoipa::path(get, operation_id = "listLines", path = "/v1/lines", tag = "lines", responses((status = 200, body = LineList)))]
pub async fn list(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
) -> Result<Json<LineList>, ApiError> {
    let lines = state.services.lines(&tenant.id).await?;
    Ok(Json(LineList {
        data: lines.into_iter().map(LineSummary::from).collect(),
    }))
}

/// A line, live from the provider: SIM, services, bundle and its usage.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LineView {
    pub mpn: String,
    pub iccid: Option<String>,
    pub account_id: Option<String>,
    pub sip_address: Option<String>,
    pub services: LineServices,
    pub bundle: Option<LineBundle>,
    pub esim_url: String,
}

impl From<Line> for LineView {
    fn from(l: Line) -> Self {
        Self {
            esim_url: format!("/v1/lines/{}/esim", l.mpn),
            mpn: l.mpn.to_string(),
            iccid: l.iccid.map(|i| i.to_string()),
            account_id: l.account_id,
            sip_address: l.sip_address,
            services: l.services,
            bundle: l.bundle,
        }
    }
}

/// One of the tenant's lines.
#[utoipa::path(get, operation_id = "getLine", path = "/v1/lines/{mpn}", tag = "lines", params(("mpn" = String, Path, pattern = r"^(\+|00)?[1-9][0-9]{7,14}$", description = "E.164 number, with or without `+`", example = "447700900001")),
    responses((status = 200, body = LineView), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(mpn): Path<String>,
) -> Result<Json<LineView>, ApiError> {
    let line = state.services.line(&tenant.id, &parse_mpn(&mpn)?).await?;
    Ok(Json(line.into()))
}

/// Changes a line's settings (services, SIP, subscriber details, number).
#[utoipa::path(patch, operation_id = "updateLineSettings", path = "/v1/lines/{mpn}", tag = "lines", params(("mpn" = String, Path, pattern = r"^(\+|00)?[1-9][0-9]{7,14}$", description = "E.164 number, with or without `+`", example = "447700900001")),
    request_body = LineSettings,
    responses((status = 204), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_settings(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(mpn): Path<String>,
    ApiJson(settings): ApiJson<LineSettings>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .update_line_settings(&tenant.id, &parse_mpn(&mpn)?, &settings)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Turns call and SMS recording on or off.
#[utoipa::path(put, operation_id = "setLineRecording", path = "/v1/lines/{mpn}/recording", tag = "lines", params(("mpn" = String, Path, pattern = r"^(\+|00)?[1-9][0-9]{7,14}$", description = "E.164 number, with or without `+`", example = "447700900001")),
    request_body = Recording, responses((status = 204), (status = 404, body = Problem)))]
pub async fn set_recording(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(mpn): Path<String>,
    ApiJson(recording): ApiJson<Recording>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .set_line_recording(&tenant.id, &parse_mpn(&mpn)?, recording)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A bundle to move a line to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeBundle {
    /// A bundle SKU from `GET /v1/line-offers` (`BASE`, `UNLIMITED`, …).
    #[schema(min_length = 1, pattern = r"\S", example = "UNLIMITED")]
    pub sku: String,
}

/// Moves a line to another data bundle.
#[utoipa::path(put, operation_id = "changeLineBundle", path = "/v1/lines/{mpn}/bundle", tag = "lines", params(("mpn" = String, Path, pattern = r"^(\+|00)?[1-9][0-9]{7,14}$", description = "E.164 number, with or without `+`", example = "447700900001")),
    request_body = ChangeBundle, responses((status = 204), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn change_bundle(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(mpn): Path<String>,
    ApiJson(body): ApiJson<ChangeBundle>,
) -> Result<StatusCode, ApiError> {
    if body.sku.trim().is_empty() {
        return Err(DomainError::MissingField("sku").into());
    }
    state
        .services
        .change_line_bundle(&tenant.id, &parse_mpn(&mpn)?, &body.sku)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Whether to ask the provider for a fresh activation code.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EsimQuery {
    /// Refresh the code (only while the eSIM is not installed).
    refresh: Option<bool>,
}

/// The line's eSIM install details.
#[utoipa::path(get, operation_id = "getLineEsim", path = "/v1/lines/{mpn}/esim", tag = "lines", params(("mpn" = String, Path, pattern = r"^(\+|00)?[1-9][0-9]{7,14}$", description = "E.164 number, with or without `+`", example = "447700900001"), EsimQuery),
    responses((status = 200, body = LineEsimView), (status = 404, body = Problem)))]
pub async fn esim(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(mpn): Path<String>,
    ApiQuery(query): ApiQuery<EsimQuery>,
) -> Result<Json<LineEsimView>, ApiError> {
    let mpn = parse_mpn(&mpn)?;
    let (iccid, esim) = state
        .services
        .line_esim(&tenant.id, &mpn, query.refresh.unwrap_or(false))
        .await?;
    Ok(Json(esim_view(&mpn, iccid, esim)))
}

async fn line_code(state: &AppState, tenant_id: &str, mpn: &str) -> Result<String, ApiError> {
    let (_, esim) = state
        .services
        .line_esim(tenant_id, &parse_mpn(mpn)?, false)
        .await?;
    Ok(esim.activation_code.to_string())
}

/// The line's activation code as a PNG QR code.
#[utoipa::path(get, operation_id = "getLineEsimQrPng", path = "/v1/lines/{mpn}/esim/qr.png", tag = "lines", params(("mpn" = String, Path, pattern = r"^(\+|00)?[1-9][0-9]{7,14}$", description = "E.164 number, with or without `+`", example = "447700900001")),
    responses((status = 200, content_type = "image/png", body = crate::openapi::Binary), (status = 304, description = "The `If-None-Match` tag is still current"), (status = 404, body = Problem)))]
pub async fn qr_png(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(mpn): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    qr::png_response(
        &line_code(&state, &tenant.id, &mpn).await?,
        &headers,
        Caching::Revalidate,
    )
}

/// The line's activation code as an SVG QR code.
#[utoipa::path(get, operation_id = "getLineEsimQrSvg", path = "/v1/lines/{mpn}/esim/qr.svg", tag = "lines", params(("mpn" = String, Path, pattern = r"^(\+|00)?[1-9][0-9]{7,14}$", description = "E.164 number, with or without `+`", example = "447700900001")),
    responses((status = 200, content_type = "image/svg+xml", body = String), (status = 304, description = "The `If-None-Match` tag is still current"), (status = 404, body = Problem)))]
pub async fn qr_svg(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(mpn): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    qr::svg_response(
        &line_code(&state, &tenant.id, &mpn).await?,
        &headers,
        Caching::Revalidate,
    )
}

/// Where the provider hosts a QR image of a line's activation code.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderQr {
    /// An image URL at the provider.
    pub url: String,
}

/// The provider's own QR image of the line's activation code (ONSIM's
/// generator); `qr.png` and `qr.svg` are simgate's own renderings.
#[utoipa::path(get, operation_id = "getLineEsimProviderQr", path = "/v1/lines/{mpn}/esim/provider-qr", tag = "lines", params(("mpn" = String, Path, pattern = r"^(\+|00)?[1-9][0-9]{7,14}$", description = "E.164 number, with or without `+`", example = "447700900001")),
    responses((status = 200, body = ProviderQr), (status = 404, body = Problem)))]
pub async fn provider_qr(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(mpn): Path<String>,
) -> Result<Json<ProviderQr>, ApiError> {
    let url = state
        .services
        .line_provider_qr(&tenant.id, &parse_mpn(&mpn)?)
        .await?;
    Ok(Json(ProviderQr { url }))
}

/// Ceasing is irreversible, so it must be confirmed in the body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CeaseLine {
    /// Must be `true`: the SIM and its account are gone for good.
    #[serde(default)]
    pub confirm: bool,
}

/// Ceases a line and its SIM. Irreversible: requires `{"confirm": true}`.
#[utoipa::path(post, operation_id = "ceaseLine", path = "/v1/lines/{mpn}/cease", tag = "lines", params(("mpn" = String, Path, pattern = r"^(\+|00)?[1-9][0-9]{7,14}$", description = "E.164 number, with or without `+`", example = "447700900001")),
    request_body = CeaseLine,
    responses((status = 204), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn cease(
    State(state): State<AppState>,
    AuthTenant(tenant): AuthTenant,
    Path(mpn): Path<String>,
    ApiJson(body): ApiJson<CeaseLine>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .cease_line(&tenant.id, &parse_mpn(&mpn)?, body.confirm)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A list answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ListOf<T> {
    pub data: Vec<T>,
}

/// Products (to provision with) and bundles (to change to): the provider's
/// catalogue, open to every tenant.
#[utoipa::path(get, operation_id = "listLineOffers", security(("tenantKey" = []), ("operatorKey" = [])), path = "/v1/line-offers", tag = "lines",
    responses((status = 200, body = ListOf<LineOffer>), (status = 401, body = Problem)))]
pub async fn offers(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<ListOf<LineOffer>>, ApiError> {
    Ok(Json(ListOf {
        data: state.services.line_offers().await?,
    }))
}

/// Which numbers to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NumberQuery {
    /// `active` (default) or `reserved`.
    state: Option<InventoryState>,
}

/// Numbers of the provider account: those free to provision (`reserved`)
/// for anyone; those in use (`active`) only the caller's own, or all of
/// them for the operator.
#[utoipa::path(get, operation_id = "listNumbers", security(("tenantKey" = []), ("operatorKey" = [])), path = "/v1/numbers", tag = "lines", params(NumberQuery),
    responses((status = 200, body = ListOf<PhoneNumber>), (status = 401, body = Problem)))]
pub async fn numbers(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<NumberQuery>,
) -> Result<Json<ListOf<PhoneNumber>>, ApiError> {
    let wanted = query.state.unwrap_or(InventoryState::Active);
    Ok(Json(ListOf {
        data: state.services.numbers(caller.scope(), wanted).await?,
    }))
}

/// A number to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddNumber {
    /// E.164.
    #[schema(pattern = r"^(\+|00)?[1-9][0-9]{7,14}$", example = "447700900001")]
    pub mpn: String,
}

/// Adds a number to the provider account. Operator key only.
#[utoipa::path(post, operation_id = "addNumber", security(("operatorKey" = [])), path = "/v1/numbers", tag = "lines", request_body = AddNumber,
    responses((status = 201), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn add_number(
    State(state): State<AppState>,
    _operator: Operator,
    ApiJson(body): ApiJson<AddNumber>,
) -> Result<StatusCode, ApiError> {
    state.services.add_number(&parse_mpn(&body.mpn)?).await?;
    Ok(StatusCode::CREATED)
}

/// Which SIMs to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SimQuery {
    /// `active` (default) or `reserved`.
    state: Option<InventoryState>,
    /// `all` (default), `esim` or `psim`.
    kind: Option<SimKind>,
}

/// SIMs of the provider account: a tenant's are those behind its own lines;
/// the operator sees all, free ones (`reserved`) included.
#[utoipa::path(get, operation_id = "listSims", security(("tenantKey" = []), ("operatorKey" = [])), path = "/v1/sims", tag = "lines", params(SimQuery),
    responses((status = 200, body = ListOf<SimCard>), (status = 401, body = Problem)))]
pub async fn sims(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<SimQuery>,
) -> Result<Json<ListOf<SimCard>>, ApiError> {
    let data = state
        .services
        .line_sims(
            caller.scope(),
            query.state.unwrap_or(InventoryState::Active),
            query.kind.unwrap_or(SimKind::All),
        )
        .await?;
    Ok(Json(ListOf { data }))
}

/// Which ports to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PortQuery {
    /// `all` (default), `initial`, `in_progress`, `failed`, `complete`, `closed`.
    state: Option<PortState>,
}

/// Number ports: a tenant's are those of its own lines' numbers; the
/// operator sees all.
#[utoipa::path(get, operation_id = "listPorts", security(("tenantKey" = []), ("operatorKey" = [])), path = "/v1/ports", tag = "lines", params(PortQuery),
    responses((status = 200, body = ListOf<Port>), (status = 401, body = Problem)))]
pub async fn ports(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PortQuery>,
) -> Result<Json<ListOf<Port>>, ApiError> {
    let data = state
        .services
        .ports(caller.scope(), query.state.unwrap_or(PortState::All))
        .await?;
    Ok(Json(ListOf { data }))
}

/// One number port (another tenant's is not found).
#[utoipa::path(get, operation_id = "getPort", security(("tenantKey" = []), ("operatorKey" = [])), path = "/v1/ports/{id}", tag = "lines", params(("id" = String, Path)),
    responses((status = 200, body = Port), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn port(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Port>, ApiError> {
    Ok(Json(state.services.port(caller.scope(), &id).await?))
}

/// Customer groups of the provider account. Operator key only: groups are
/// how the operator organises the account its tenants share.
#[utoipa::path(get, operation_id = "listGroups", security(("operatorKey" = [])), path = "/v1/groups", tag = "lines",
    responses((status = 200, body = ListOf<Group>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn groups(
    State(state): State<AppState>,
    _operator: Operator,
) -> Result<Json<ListOf<Group>>, ApiError> {
    Ok(Json(ListOf {
        data: state.services.groups().await?,
    }))
}

/// Adds a customer group (name rules are checked before the provider is
/// called). Operator key only.
#[utoipa::path(post, operation_id = "addGroup", security(("operatorKey" = [])), path = "/v1/groups", tag = "lines", request_body = Group,
    responses((status = 201, body = Group), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn add_group(
    State(state): State<AppState>,
    _operator: Operator,
    ApiJson(group): ApiJson<Group>,
) -> Result<(StatusCode, Json<Group>), ApiError> {
    state.services.add_group(&group).await?;
    Ok((StatusCode::CREATED, Json(group)))
}

/// Subscriber filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SubscriberQuery {
    /// e.g. `PROVISIONED`.
    state: Option<String>,
    is_recorded: Option<bool>,
    group: Option<String>,
}

/// Subscribers of the provider account: a tenant's are those of its own
/// lines; the operator sees all.
#[utoipa::path(get, operation_id = "listSubscribers", security(("tenantKey" = []), ("operatorKey" = [])), path = "/v1/subscribers", tag = "lines", params(SubscriberQuery),
    responses((status = 200, body = ListOf<Subscriber>), (status = 401, body = Problem)))]
pub async fn subscribers(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<SubscriberQuery>,
) -> Result<Json<ListOf<Subscriber>>, ApiError> {
    let filter = SubscriberFilter {
        state: query.state,
        is_recorded: query.is_recorded,
        group: query.group,
    };
    Ok(Json(ListOf {
        data: state.services.subscribers(caller.scope(), &filter).await?,
    }))
}

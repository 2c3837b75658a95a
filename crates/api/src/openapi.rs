//! The parts of the OpenAPI document every operation shares, added once
//! after the handlers' own `#[utoipa::path]` descriptions are collected:
//! who may call it (security), the errors any request can meet on its way
//! in (the limits layer, authentication, body parsing, store failures) and
//! the problem media type of every error. Handlers document only what is
//! particular to them, so a new route is described consistently by default.

use std::sync::OnceLock;

use axum::http::StatusCode;
use simgate_domain::{CountryCode, Currency, OutboundEvent, ProviderId, SimOrderStatus};
use utoipa::Modify;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, ParameterIn, PathItem, Paths,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{KnownFormat, Object, Schema, SchemaFormat, SchemaType, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::server::ServerBuilder;
use utoipa::openapi::{Content, ContentBuilder, OpenApi, Ref, RefOr, Required};

/// Security scheme of a tenant's API key (`Authorization: Bearer sk_…`).
pub const TENANT_KEY: &str = "tenantKey";
/// Security scheme of the operator's key (`admin_api_key`).
pub const OPERATOR_KEY: &str = "operatorKey";
/// The media type of every error answer (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Paths whose callers prove themselves some other way than an API key
/// (providers sign their webhooks).
const SELF_AUTHENTICATED: &[&str] = &["/v1/webhooks/"];

/// Completes the document: security schemes and requirements, shared
/// error answers, descriptions and `servers`. Runs on the document the
/// router built, not on `ApiDoc` alone, which has no paths yet.
pub struct Contract;

/// Who may call an operation, as its security requirement says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// No key: health checks and provider webhooks.
    Public,
    /// A tenant's key only; the operator's key is a 403 `tenant_only`.
    Tenant,
    /// The operator's key only; a tenant's is a 403 `operator_only`.
    Operator,
    /// Either key, each seeing its own share.
    Either,
}

impl Modify for Contract {
    fn modify(&self, doc: &mut OpenApi) {
        doc.servers = Some(vec![
            ServerBuilder::new()
                .url("/")
                .description(Some("The simgate instance serving this document"))
                .build(),
            ServerBuilder::new()
                .url("http://127.0.0.1:8080")
                .description(Some(
                    "`simgate serve --sandbox` on its default address (demo key `sk_sandbox_simgate`)",
                ))
                .build(),
        ]);
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            TENANT_KEY,
            bearer("A tenant's API key (`simgate tenants create`); `X-API-Key: <key>` works too"),
        );
        components.add_security_scheme(
            OPERATOR_KEY,
            bearer("The operator's key (`admin_api_key` in the configuration)"),
        );
        if let Some(RefOr::T(Schema::Object(problem))) = components.schemas.get_mut("Problem") {
            document_request_id(problem);
            problem.examples = vec![serde_json::json!({
                "type": "urn:simgate:problem:unknown_product",
                "title": "Unprocessable Entity",
                "status": 422,
                "detail": "no product esim-go:esim_1GB_7D_XX_V2 in the catalogue",
                "code": "unknown_product"
            })];
        }
        doc.webhooks = Some(outbound_events());
        for (path, item) in &mut doc.paths.paths {
            for operation in operations(item) {
                complete(path, operation);
                link(operation);
            }
        }
    }
}

/// The events simgate POSTs to reseller endpoints, one webhook per event
/// type, each with the `EventBody` schema (whose `type` tells which).
fn outbound_events() -> Paths {
    let mut paths = Paths::new();
    for event_type in OutboundEvent::TYPES {
        let body = RequestBodyBuilder::new()
            .description(Some(format!(
                "An `{event_type}` event, signed as Standard Webhooks: \
                 `webhook-id` (the event id), `webhook-timestamp` and `webhook-signature`"
            )))
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("EventBody")))
                    .build(),
            )
            .required(Some(utoipa::openapi::Required::True))
            .build();
        let operation = OperationBuilder::new()
            .tag("events")
            .summary(Some(format!(
                "`{event_type}`, sent to each enabled endpoint"
            )))
            .request_body(Some(body))
            .response(
                "200",
                ResponseBuilder::new()
                    .description("Any 2xx: delivered; anything else is retried with backoff")
                    .build(),
            )
            .response(
                "410",
                ResponseBuilder::new()
                    .description("Gone: the endpoint is disabled and gets no more events")
                    .build(),
            )
            .build();
        paths.add_path_operation(event_type, vec![HttpMethod::Post], operation);
    }
    paths
}

/// An answer that leads to another operation: the parameter `parameter`
/// of `target` is taken from the answer by the runtime `expression`.
struct Link {
    from: &'static str,
    status: &'static str,
    target: &'static str,
    parameter: &'static str,
    expression: &'static str,
}

const fn leads(
    from: &'static str,
    status: &'static str,
    target: &'static str,
    parameter: &'static str,
    expression: &'static str,
) -> Link {
    Link {
        from,
        status,
        target,
        parameter,
        expression,
    }
}

/// Where answers lead. Clients and fuzzers follow these from a created
/// resource to the operations on it, with ids that exist.
const LINKS: &[Link] = &[
    leads("createOrder", "201", "getOrder", "id", "$response.body#/id"),
    leads(
        "createOrder",
        "201",
        "getEsim",
        "iccid",
        "$response.body#/esims/0",
    ),
    leads(
        "createOrder",
        "201",
        "getEsimUsage",
        "iccid",
        "$response.body#/esims/0",
    ),
    leads(
        "createOrder",
        "201",
        "getEsimQrPng",
        "iccid",
        "$response.body#/esims/0",
    ),
    leads(
        "createOrder",
        "201",
        "getEsimQrSvg",
        "iccid",
        "$response.body#/esims/0",
    ),
    leads(
        "createOrder",
        "201",
        "createTopUp",
        "iccid",
        "$response.body#/esims/0",
    ),
    leads(
        "createSimOrder",
        "201",
        "getSimOrder",
        "id",
        "$response.body#/id",
    ),
    leads(
        "createWebhookEndpoint",
        "201",
        "deleteWebhookEndpoint",
        "id",
        "$response.body#/id",
    ),
];

fn link(operation: &mut Operation) {
    let Some(id) = operation.operation_id.as_deref() else {
        return;
    };
    for link in LINKS.iter().filter(|link| link.from == id) {
        let Some(RefOr::T(response)) = operation.responses.responses.get_mut(link.status) else {
            continue;
        };
        let built = LinkBuilder::new()
            .operation_id(link.target)
            .parameter(link.parameter, link.expression)
            .description(format!(
                "The {} this {} answer gives",
                link.parameter, link.from
            ))
            .build();
        response.links.insert(link.target.to_owned(), built.into());
    }
}

fn bearer(description: &str) -> SecurityScheme {
    SecurityScheme::Http(
        Http::builder()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(description))
            .build(),
    )
}

/// The request id problems carry, so a client can quote it to support.
fn document_request_id(problem: &mut Object) {
    if problem.properties.contains_key("request_id") {
        return;
    }
    let mut request_id = Object::with_type(Type::String);
    request_id.description = Some(
        "The request's `X-Request-Id` (given or generated), to quote when asking for help.".into(),
    );
    problem
        .properties
        .insert("request_id".into(), Schema::Object(request_id).into());
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
}

/// Sets the operation's security (a tenant key unless it says otherwise)
/// and documents every error it can answer.
fn complete(path: &str, operation: &mut Operation) {
    // A path parameter is always required (OpenAPI says so); utoipa leaves
    // it unset on one whose schema comes from `schema_with`.
    for parameter in operation.parameters.iter_mut().flatten() {
        if let RefOr::T(parameter) = parameter
            && parameter.parameter_in == ParameterIn::Path
        {
            parameter.required = Required::True;
        }
    }
    let role = role(path, operation);
    if role == Role::Tenant && operation.security.is_none() {
        operation.security = Some(vec![SecurityRequirement::new(TENANT_KEY, NO_SCOPES)]);
    }
    let has_body = operation.request_body.is_some();
    let responses = &mut operation.responses.responses;
    for (status, response) in responses.iter_mut() {
        if let RefOr::T(response) = response {
            describe(status, response);
        }
    }
    let mut shared: Vec<(StatusCode, &str)> = vec![
        (
            StatusCode::BAD_REQUEST,
            "The request is malformed: its path, query, headers or JSON (`code` says which)",
        ),
        (
            StatusCode::REQUEST_TIMEOUT,
            "The body did not arrive in time (`request_timeout`)",
        ),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "The body is over the size limit (`body_too_large`)",
        ),
        (
            StatusCode::URI_TOO_LONG,
            "The path and query are over the length limit (`uri_too_long`)",
        ),
        (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "The headers are over the size limit (`headers_too_large`)",
        ),
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "simgate failed to handle the request; it has been logged (`internal_error`)",
        ),
    ];
    if role != Role::Public {
        shared.push((
            StatusCode::UNAUTHORIZED,
            "No API key, or one that is not valid (`missing_api_key`, `invalid_api_key`)",
        ));
    }
    match role {
        Role::Tenant => shared.push((
            StatusCode::FORBIDDEN,
            "The operator's key was used: this operation acts for a tenant (`tenant_only`)",
        )),
        Role::Operator => shared.push((
            StatusCode::FORBIDDEN,
            "A tenant's key was used: this operation needs the operator's (`operator_only`)",
        )),
        Role::Public | Role::Either => {}
    }
    if path.contains('{') {
        shared.push((
            StatusCode::NOT_FOUND,
            "Nothing of that id here (another tenant's is not found either)",
        ));
    }
    if has_body {
        shared.push((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "The body is not `application/json` (`unsupported_media_type`)",
        ));
        shared.push((
            StatusCode::UNPROCESSABLE_ENTITY,
            "The JSON does not have the expected shape (`invalid_body`)",
        ));
    }
    for (status, description) in shared {
        responses
            .entry(status.as_str().to_owned())
            .or_insert_with(|| problem(description).into());
    }
    // Every keyed call spends its tenant's request budget.
    if matches!(role, Role::Tenant | Role::Either) || responses.contains_key("429") {
        responses.insert("429".to_owned(), rate_limited().into());
    }
}

/// The 429 of an exhausted budget, with the headers that say when to come
/// back (draft-ietf-httpapi-ratelimit-headers).
fn rate_limited() -> Response {
    let mut response = problem(
        "Over a rate limit (`rate_limited`): wait as `Retry-After` says; \
         `RateLimit-Policy` names the policy and its quota, `RateLimit` its state",
    );
    let header = |schema: Type, description: &str| {
        HeaderBuilder::new()
            .schema(Some(Object::with_type(schema)))
            .description(Some(description))
            .build()
            .into()
    };
    response.headers.insert(
        "Retry-After".to_owned(),
        header(Type::Integer, "Seconds until the call may succeed"),
    );
    response.headers.insert(
        "RateLimit-Policy".to_owned(),
        header(
            Type::String,
            "The refusing policy, its quota and window: `\"tenant\";q=2000;w=1`",
        ),
    );
    response.headers.insert(
        "RateLimit".to_owned(),
        header(
            Type::String,
            "What is left of it and when it refills: `\"tenant\";r=0;t=1`",
        ),
    );
    response
}

const NO_SCOPES: [&str; 0] = [];

fn role(path: &str, operation: &Operation) -> Role {
    let tenant = SecurityRequirement::new(TENANT_KEY, NO_SCOPES);
    let operator = SecurityRequirement::new(OPERATOR_KEY, NO_SCOPES);
    match operation.security.as_deref() {
        Some([only]) if *only == operator => Role::Operator,
        Some([only]) if *only == tenant => Role::Tenant,
        Some(both) if both.contains(&tenant) && both.contains(&operator) => Role::Either,
        _ if !path.starts_with("/v1/")
            || SELF_AUTHENTICATED
                .iter()
                .any(|prefix| path.starts_with(prefix)) =>
        {
            Role::Public
        }
        _ => Role::Tenant,
    }
}

/// Gives a response a description (its reason phrase when the handler
/// said nothing) and serves an error's Problem as `application/problem+json`.
fn describe(status: &str, response: &mut Response) {
    let code = status.parse::<u16>().ok();
    if response.description.trim().is_empty() {
        response.description = code
            .and_then(|code| StatusCode::from_u16(code).ok())
            .and_then(|code| code.canonical_reason())
            .unwrap_or("Answer")
            .to_owned();
    }
    if code.is_some_and(|code| code >= 400)
        && let Some(content) = response.content.shift_remove("application/json")
    {
        let is_problem = matches!(
            &content,
            RefOr::T(Content { schema: Some(RefOr::Ref(reference)), .. })
                if reference.ref_location.ends_with("/Problem")
        );
        let media_type = if is_problem {
            PROBLEM_JSON
        } else {
            "application/json"
        };
        response.content.insert(media_type.to_owned(), content);
    }
}

/// An error answer: a Problem, as `application/problem+json`.
fn problem(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

/// A binary body (an image): `type: string, format: binary`, which
/// client generators read as a file rather than an array of numbers.
pub struct Binary;

impl utoipa::PartialSchema for Binary {
    fn schema() -> RefOr<Schema> {
        let mut schema = Object::with_type(Type::String);
        schema.format = Some(SchemaFormat::KnownFormat(KnownFormat::Binary));
        Schema::Object(schema).into()
    }
}

impl utoipa::ToSchema for Binary {}

/// A string parameter that takes exactly these values.
fn one_of<'a>(values: impl IntoIterator<Item = &'a str>) -> Object {
    let mut schema = Object::with_type(Type::String);
    schema.enum_values = Some(values.into_iter().map(Into::into).collect());
    schema
}

/// ISO 3166-1 alpha-2 codes, as `CountryCode::parse` accepts them.
pub fn country_code() -> Object {
    one_of(CountryCode::all_codes())
}

/// ISO 4217 codes, as `Currency::parse` accepts them.
pub fn currency_code() -> Object {
    static CODES: OnceLock<Vec<&'static str>> = OnceLock::new();
    one_of(CODES.get_or_init(Currency::all_codes).iter().copied())
}

/// Providers a catalogue can come from.
pub fn catalogue_provider() -> Object {
    one_of(ProviderId::ALL.iter().map(ProviderId::as_str))
}

/// Providers with a connector for physical SIM card orders; `null` or
/// absent picks the configured one.
pub fn sim_card_provider() -> Object {
    or_null(one_of([ProviderId::Telnyx.as_str()]))
}

/// Providers with a connector for subscriber lines; `null` or absent
/// picks the configured one.
pub fn line_provider() -> Object {
    or_null(one_of([ProviderId::Onsim.as_str()]))
}

/// The same choice of strings, or `null` (an optional body field).
fn or_null(mut schema: Object) -> Object {
    schema.schema_type = SchemaType::Array(vec![Type::String, Type::Null]);
    if let Some(values) = schema.enum_values.as_mut() {
        values.push(serde_json::Value::Null);
    }
    schema
}

/// The catalogue's sort orders.
pub fn product_sort() -> Object {
    one_of(["price", "-price", "data", "validity"])
}

/// The orders `GET /v1/offers` accepts.
pub fn offer_sort() -> Object {
    one_of(["id", "price", "-price"])
}

/// SIM order statuses: simgate's own and the provider lifecycle's.
pub fn sim_order_status() -> Object {
    one_of(
        ["submitting", "failed", "unknown"].into_iter().chain(
            SimOrderStatus::ALL
                .iter()
                .map(simgate_domain::SimOrderStatus::as_str),
        ),
    )
}

//! What every function's part of the OpenAPI description shares: the error body of every
//! failure status, the answers any token-checked route can give, and the bearer-token
//! security scheme. The functions annotate their handlers (`#[utoipa::path]`) and build their
//! routers from them (utoipa-axum), so each router and its description come from one list.

use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoResponses, ToSchema};

/// The security scheme name of a route that takes `Authorization: Bearer <token>`.
pub const BEARER: &str = "bearer";

/// Every error answer: `{"error": {"code", "message"}}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// A stable snake_case code, e.g. `not_found`, `invalid_token`, `upload_too_large`.
    pub code: String,
    /// For people; may change.
    pub message: String,
}

/// What a route that checks the caller's token may answer besides its own statuses.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum TokenChecked {
    /// `missing_token`, `invalid_token` or `token_expired` (with `WWW-Authenticate: Bearer`).
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// `unavailable`: a store or the broker failed; try again later.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

/// The security scheme name of the seed's `POST /login` (Basic `email:password`).
pub const BASIC: &str = "basic";

/// Adds the schemes that the routes' `security(...)` name.
pub fn add_security_schemes(api: &mut OpenApi) {
    let bearer = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .bearer_format("JWT")
        .description(Some("A token from `POST /api/v1/tokens` (or the seed's `POST /login`)."))
        .build();
    let basic =
        HttpBuilder::new().scheme(HttpAuthScheme::Basic).description(Some("`email:password`, for the seed's `POST /login`.")).build();
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(BEARER, SecurityScheme::Http(bearer));
    components.add_security_scheme(BASIC, SecurityScheme::Http(basic));
}

//! The auth function: `POST /login` (seed-compatible, Basic auth → JWT as text),
//! `POST /api/v1/users` (sign-up) and `POST /api/v1/tokens` (JSON log-in).
//!
//! [`throttling`] holds the limits on log-ins and sign-ups; password hashing runs through
//! [`Passwords`], a fixed number at a time.

mod throttling;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use base64::Engine;
use platform::auth::{Passwords, TokenSigner};
use platform::config::Limits;
use platform::http::api_doc::ErrorBody;
use platform::http::{AppError, ClientAddr, Json};
use platform::model::User;
use platform::user_store::{UserStore, UserStoreError};
use serde::{Deserialize, Serialize};
pub use throttling::Throttles;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Clone)]
pub struct AuthState {
    pub users: Arc<dyn UserStore>,
    pub signer: Arc<TokenSigner>,
    pub signup_open: bool,
    pub passwords: Passwords,
    pub throttles: Arc<Throttles>,
}

impl AuthState {
    /// The state with its password hashing and throttles set up from `limits`.
    pub fn new(users: Arc<dyn UserStore>, signer: Arc<TokenSigner>, signup_open: bool, limits: &Limits) -> Self {
        Self {
            users,
            signer,
            signup_open,
            passwords: Passwords::new(limits.password_hash_concurrency),
            throttles: Arc::new(Throttles::new(limits)),
        }
    }
}

/// The routes, each with its description.
fn routes() -> OpenApiRouter<AuthState> {
    OpenApiRouter::new().routes(routes!(login)).routes(routes!(sign_up)).routes(routes!(create_token)).routes(routes!(openapi_json))
}

pub fn router(state: AuthState) -> Router {
    routes().split_for_parts().0.with_state(state)
}

/// This function's part of the OpenAPI description.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}

/// The description of the whole public API, as `mp3convert openapi` writes it from the code
/// of every function (a test keeps this file equal to that). Served here, since every
/// client meets this function first.
pub const OPENAPI_JSON: &str = include_str!("../../../docs/openapi.json");

/// This API's description.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta", security(()), responses(
    (status = 200, description = "The OpenAPI 3.1 description of every route.", body = serde_json::Value),
))]
async fn openapi_json() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

#[derive(Deserialize, ToSchema)]
struct Credentials {
    email: String,
    /// 8 to 1024 characters.
    password: String,
}

/// A new account.
#[derive(Serialize, ToSchema)]
struct Account {
    id: String,
    email: String,
}

/// A token for `Authorization: Bearer`.
#[derive(Serialize, ToSchema)]
struct Token {
    access_token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    /// Seconds until it expires.
    expires_in: u64,
}

const MIN_PASSWORD_CHARS: usize = 8;
const MAX_PASSWORD_BYTES: usize = 1024;

/// Sign up.
#[utoipa::path(post, path = "/api/v1/users", tag = "auth", request_body = Credentials, responses(
    (status = 201, description = "The account is made; log in with `POST /api/v1/tokens`.", body = Account),
    (status = 400, description = "`invalid_json`: the body is not `{\"email\", \"password\"}`.", body = ErrorBody),
    (status = 403, description = "`signup_closed`: `MP3CONVERT_SIGNUP` is off.", body = ErrorBody),
    (status = 409, description = "`email_taken`.", body = ErrorBody),
    (status = 422, description = "`invalid_email` or `invalid_password` (8 to 1024 characters).", body = ErrorBody),
    (status = 429, description = "`too_many_signups`: too many sign-ups from this address; see `Retry-After`.", body = ErrorBody),
    (status = 503, description = "`unavailable`: the user store failed.", body = ErrorBody),
))]
async fn sign_up(
    State(state): State<AuthState>,
    ClientAddr(addr): ClientAddr,
    Json(body): Json<Credentials>,
) -> Result<impl IntoResponse, AppError> {
    if !state.signup_open {
        return Err(AppError::new(StatusCode::FORBIDDEN, "signup_closed", "sign-up is closed on this server"));
    }
    state.throttles.signup_from(addr)?;
    let email = body.email.trim().to_owned();
    if !is_plausible_email(&email) {
        return Err(AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_email", "the email address is not valid"));
    }
    if body.password.chars().count() < MIN_PASSWORD_CHARS || body.password.len() > MAX_PASSWORD_BYTES {
        return Err(AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_password",
            format!("the password must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_BYTES} characters long"),
        ));
    }
    let user =
        User { id: platform::new_id(), email, password_hash: state.passwords.hash(body.password).await.map_err(AppError::internal)? };
    match state.users.create(&user).await {
        Ok(()) => Ok((StatusCode::CREATED, Json(Account { id: user.id, email: user.email }))),
        Err(UserStoreError::EmailTaken) => Err(AppError::new(StatusCode::CONFLICT, "email_taken", "this email is already registered")),
        Err(e) => Err(AppError::unavailable(e)),
    }
}

/// Log in: a token for the account.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "auth", request_body = Credentials, responses(
    (status = 200, description = "The token.", body = Token),
    (status = 400, description = "`invalid_json`.", body = ErrorBody),
    (status = 401, description = "`invalid_credentials`: wrong email or password.", body = ErrorBody),
    (status = 429, description = "`too_many_attempts`: too many log-ins from this address or for this account; see `Retry-After`.", body = ErrorBody),
    (status = 503, description = "`unavailable`: the user store failed.", body = ErrorBody),
))]
async fn create_token(
    State(state): State<AuthState>,
    ClientAddr(addr): ClientAddr,
    Json(body): Json<Credentials>,
) -> Result<impl IntoResponse, AppError> {
    state.throttles.login_from(addr)?;
    let user = authenticate(&state, body.email.trim(), body.password).await?;
    let (token, expires_in) = state.signer.issue(&user.id, &user.email).map_err(AppError::internal)?;
    Ok(Json(Token { access_token: token, token_type: "Bearer", expires_in }))
}

/// Seed-compatible: Basic credentials in, the bare JWT out as text.
#[utoipa::path(post, path = "/login", tag = "seed", security(("basic" = [])), responses(
    (status = 200, description = "The token, as text.", body = String, content_type = "text/plain"),
    (status = 401, description = "`missing_credentials` or `invalid_credentials`.", body = ErrorBody),
    (status = 429, description = "`too_many_attempts`; see `Retry-After`.", body = ErrorBody),
    (status = 503, description = "`unavailable`: the user store failed.", body = ErrorBody),
))]
async fn login(State(state): State<AuthState>, ClientAddr(addr): ClientAddr, headers: HeaderMap) -> Result<impl IntoResponse, AppError> {
    state.throttles.login_from(addr)?;
    let (email, password) = basic_credentials(&headers)
        .ok_or_else(|| AppError::unauthorized("missing_credentials", "Basic credentials (email:password) are required"))?;
    let user = authenticate(&state, &email, password).await?;
    let (token, _) = state.signer.issue(&user.id, &user.email).map_err(AppError::internal)?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], token))
}

/// Checks `email`'s password, within the account's limit of failed attempts (unknown
/// emails are counted alike, so a 429 does not tell whether an account exists).
async fn authenticate(state: &AuthState, email: &str, password: String) -> Result<User, AppError> {
    state.throttles.attempt_for(email)?;
    let user = match state.users.find_by_email(email).await {
        Ok(user) => user,
        Err(e) => {
            state.throttles.not_a_failure(email);
            return Err(AppError::unavailable(e));
        }
    };
    // An unknown email still costs one hash verification, so timing does not reveal it.
    let matches = match &user {
        Some(user) => state.passwords.verify(password, user.password_hash.clone()).await,
        None => state.passwords.verify_unknown(password).await,
    };
    match user {
        Some(user) if matches => {
            state.throttles.not_a_failure(email);
            Ok(user)
        }
        _ => Err(AppError::unauthorized("invalid_credentials", "wrong email or password")),
    }
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (email, password) = decoded.split_once(':')?;
    Some((email.trim().to_owned(), password.to_owned()))
}

fn is_plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else { return false };
    email.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && !domain.contains('@')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_for_shape() {
        assert!(is_plausible_email("a@example.com"));
        assert!(!is_plausible_email("a@example"));
        assert!(!is_plausible_email("@example.com"));
        assert!(!is_plausible_email("a b@example.com"));
        assert!(!is_plausible_email("a@b@example.com"));
    }

    #[test]
    fn basic_credentials_are_decoded() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "Basic YUBleGFtcGxlLmNvbTpwYXNzOndvcmQ=".parse().unwrap());
        assert_eq!(basic_credentials(&headers), Some(("a@example.com".into(), "pass:word".into())));
    }
}

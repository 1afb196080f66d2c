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
use axum::routing::post;
use base64::Engine;
use platform::auth::{Passwords, TokenSigner};
use platform::config::Limits;
use platform::http::{AppError, ClientAddr, Json};
use platform::model::User;
use platform::user_store::{UserStore, UserStoreError};
use serde::Deserialize;
use serde_json::json;
pub use throttling::Throttles;

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

pub fn router(state: AuthState) -> Router {
    Router::new()
        .route("/login", post(login))
        .route("/api/v1/users", post(sign_up))
        .route("/api/v1/tokens", post(create_token))
        .with_state(state)
}

#[derive(Deserialize)]
struct Credentials {
    email: String,
    password: String,
}

const MIN_PASSWORD_CHARS: usize = 8;
const MAX_PASSWORD_BYTES: usize = 1024;

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
        Ok(()) => Ok((StatusCode::CREATED, Json(json!({ "id": user.id, "email": user.email })))),
        Err(UserStoreError::EmailTaken) => Err(AppError::new(StatusCode::CONFLICT, "email_taken", "this email is already registered")),
        Err(e) => Err(AppError::unavailable(e)),
    }
}

async fn create_token(
    State(state): State<AuthState>,
    ClientAddr(addr): ClientAddr,
    Json(body): Json<Credentials>,
) -> Result<impl IntoResponse, AppError> {
    state.throttles.login_from(addr)?;
    let user = authenticate(&state, body.email.trim(), body.password).await?;
    let (token, expires_in) = state.signer.issue(&user.id, &user.email).map_err(AppError::internal)?;
    Ok(Json(json!({ "access_token": token, "token_type": "Bearer", "expires_in": expires_in })))
}

/// Seed-compatible: Basic credentials in, the bare JWT out as text.
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

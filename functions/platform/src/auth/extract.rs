//! `AuthUser`: the caller, from a valid `Authorization: Bearer` token, or a 401.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::{TokenError, TokenVerifier};
use crate::http::AppError;

/// The authenticated caller.
#[derive(Clone, Debug)]
pub struct AuthUser {
    pub id: String,
    pub email: String,
}

impl<S> FromRequestParts<S> for AuthUser
where
    Arc<TokenVerifier>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| AppError::unauthorized("missing_token", "an Authorization: Bearer token is required"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| AppError::unauthorized("invalid_token", "the Authorization header must be 'Bearer <token>'"))?;
        let verifier = Arc::<TokenVerifier>::from_ref(state);
        match verifier.verify(token) {
            Ok(claims) => Ok(Self { id: claims.sub, email: claims.email }),
            Err(TokenError::Expired) => Err(AppError::unauthorized("token_expired", "the token has expired; log in again")),
            Err(TokenError::Invalid) => Err(AppError::unauthorized("invalid_token", "the token is not valid")),
        }
    }
}

//! The auth function's abuse limits: failed log-ins per account, log-in attempts and
//! sign-ups per client address (README "Limits"). Each refusal is a 429 with `Retry-After`,
//! answered before any password is hashed.

use std::net::IpAddr;

use platform::config::Limits;
use platform::http::AppError;
use platform::throttle::{Refused, Throttle};

pub struct Throttles {
    account_failures: Throttle,
    address_logins: Throttle,
    address_signups: Throttle,
}

impl Throttles {
    pub fn new(limits: &Limits) -> Self {
        let window = limits.throttle_window;
        Self {
            account_failures: Throttle::new(limits.login_failures_per_account, window),
            address_logins: Throttle::new(limits.logins_per_address, window),
            address_signups: Throttle::new(limits.signups_per_address, window),
        }
    }

    /// Counts a log-in attempt from `addr` (every attempt counts). Without an address (a
    /// request made in-process) only the account's limit applies.
    pub fn login_from(&self, addr: Option<IpAddr>) -> Result<(), AppError> {
        addr.map_or(Ok(()), |ip| self.address_logins.hit(&ip)).map_err(|refused| too_many_attempts(&refused))
    }

    /// Counts a log-in attempt for `email` as failed until [`Throttles::not_a_failure`] says
    /// otherwise: counting first means concurrent guesses cannot all pass the check before
    /// any of them has failed.
    pub fn attempt_for(&self, email: &str) -> Result<(), AppError> {
        self.account_failures.hit(&account_key(email)).map_err(|refused| too_many_attempts(&refused))
    }

    /// The attempt for `email` had the right password (or could not be checked): it was no
    /// failure.
    pub fn not_a_failure(&self, email: &str) {
        self.account_failures.forgive(&account_key(email));
    }

    pub fn signup_from(&self, addr: Option<IpAddr>) -> Result<(), AppError> {
        addr.map_or(Ok(()), |ip| self.address_signups.hit(&ip)).map_err(|refused| {
            AppError::too_many_requests(
                "too_many_signups",
                format!("too many sign-ups from this address; try again in {} s", refused.retry_after_secs()),
                refused.retry_after_secs(),
            )
        })
    }
}

/// Emails are matched without regard to case (the user store does the same).
fn account_key(email: &str) -> String {
    email.trim().to_lowercase()
}

fn too_many_attempts(refused: &Refused) -> AppError {
    AppError::too_many_requests(
        "too_many_attempts",
        format!("too many log-in attempts; try again in {} s", refused.retry_after_secs()),
        refused.retry_after_secs(),
    )
}

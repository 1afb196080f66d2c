//! The HTTP API of contract §1 and §2, route by route, against the platform in-process.

mod auth;
mod convert_events;
mod download;
mod health;
mod job_stream;
mod lambda;
mod openapi;
mod poisoned_jobs;
mod quota;
mod retention;
mod share_links;
mod throttle;
mod upload;
mod webhooks;

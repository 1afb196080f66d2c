//! The distributed form end to end: every function as its own process, events through the
//! local broker (configured by the repo's `eventing/` manifests) on the real RabbitMQ, files
//! in GridFS and jobs in MongoDB (FerretDB), users in MySQL (MariaDB). See `tests::cluster`.
//!
//! The RabbitMQ restart is in its own test binary (`rabbitmq_restart.rs`): it would break
//! the clusters of the tests running beside it here.

mod converter_crash;
mod converter_stall;
mod dead_letter;
mod external_event;
mod forged_events;
mod job_stream;
mod load;
mod redrive;
mod retention;
mod seed_flow;
mod share_links;
mod web_page;
mod webhooks;

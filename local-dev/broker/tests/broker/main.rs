//! Integration tests of the local broker against the real RabbitMQ of
//! `local-dev/services.sh` (`MP3CONVERT_AMQP_URL`). Each test has its own exchange, its own
//! manifests in a temp dir and stub subscribers on 127.0.0.1:0.

mod delivery_failures;
mod ingress;
mod parallelism;
mod replies;
mod resilience;
mod routing;
mod support;

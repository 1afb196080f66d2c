//! The OpenAPI description of everything the all-in-one serves, put together from each
//! function's own (`auth::openapi`, `upload::openapi`, `download::openapi`, the web page's
//! and the operations routes). `mp3convert openapi` prints it; `docs/openapi.json` is that output,
//! which the auth function serves at `GET /api/v1/openapi.json`.

use platform::http::api_doc::{ErrorBody, ErrorDetail, add_security_schemes};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "mp3convert",
        description = "Upload a video, get its audio as an MP3. Every failure answers `{\"error\": {\"code\", \"message\"}}` \
                       (`ErrorBody`); the codes are stable, the messages are for people. Besides the statuses each \
                       operation lists, any request may be answered by the HTTP layer: 404 `not_found` (no such \
                       route), 405 `method_not_allowed`, 408 `upload_too_slow` (a body sent slower than the minimum \
                       rate), 431 `headers_too_large`, 503 `request_timeout` (no answer within the time limit) or 503 \
                       `unavailable`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    tags(
        (name = "auth", description = "Accounts and tokens."),
        (name = "videos", description = "Uploads: each makes a conversion job."),
        (name = "jobs", description = "The caller's conversion jobs and their progress."),
        (name = "mp3s", description = "The MP3s: download, delete, share."),
        (name = "webhooks", description = "Endpoints told when a job ends (Standard Webhooks signatures, retried)."),
        (name = "seed", description = "The routes of the system mp3convert replaces, kept as they were."),
        (name = "operations", description = "Health and metrics, served by every function."),
        (name = "meta", description = "This description."),
        (name = "web", description = "The web page (the auth function serves it on Knative)."),
    ),
)]
struct Base;

/// The description, with every function's routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut api = Base::openapi();
    api.merge(auth::openapi());
    api.merge(upload::openapi());
    api.merge(download::openapi());
    api.merge(notify::openapi());
    api.merge(web::openapi());
    api.merge(platform::http::ops_openapi());
    add_security_schemes(&mut api);
    api
}

/// [`openapi`] as `docs/openapi.json` holds it: pretty JSON and a final newline.
pub fn openapi_json() -> String {
    let mut json = openapi().to_pretty_json().expect("the OpenAPI description is JSON");
    json.push('\n');
    json
}

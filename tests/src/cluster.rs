//! The distributed form on one machine: each function as its own process (the real
//! `mp3convert-*` binaries, in production mode), the local broker reading the repo's
//! `eventing/` manifests, and the real RabbitMQ, MariaDB and FerretDB that
//! `local-dev/test.sh` starts. Each cluster has its own MongoDB database, MySQL database and
//! Broker exchange, so clusters of parallel tests never see each other's data.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use platform::auth::KeyPair;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use tempfile::TempDir;

/// The queues the local broker declares for the repo's manifests (`<exchange>.<trigger>`,
/// plus the dead-letter queue), deleted with the cluster.
const QUEUES: [&str; 6] = [
    "convert-video-uploaded",
    "jobs-mp3-converted",
    "jobs-conversion-failed",
    "notify-mp3-converted",
    "notify-conversion-failed",
    "dead-letter",
];

/// Where the `mp3convert-*` binaries are: `$MP3CONVERT_BIN_DIR`, or this workspace's debug build.
pub fn bin_dir() -> PathBuf {
    match std::env::var_os("MP3CONVERT_BIN_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => crate::process::build_dir(),
    }
}

/// The repo's Knative Eventing manifests, which the local broker reads.
pub fn eventing_dir() -> PathBuf {
    crate::repo_root().join("eventing")
}

/// Runs `local-dev/services.sh` with `args` (a fault test restarting a service) and panics
/// with its stderr if it fails.
pub fn services_sh(args: &[&str]) {
    let script = crate::repo_root().join("local-dev/services.sh");
    let output = Command::new(&script).args(args).output().expect("local-dev/services.sh");
    assert!(output.status.success(), "services.sh {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
}

/// A real service's URL from the environment (set by `local-dev/test.sh`).
pub fn service_url(variable: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| {
        panic!("{variable} is not set: run the tests with ./local-dev/test.sh, or `eval \"$(./local-dev/services.sh env)\"` after `./local-dev/services.sh start`")
    })
}

/// A loopback port nobody listens on now (bound and released: a process restarted later
/// gets the same address, which the broker's service map needs).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// Waits (with a deadline) until the port of `url` can be bound: the ports come from the
/// ephemeral range, so while a process is down for a restart, another test's outgoing
/// connection may hold its port for a moment.
fn wait_until_bindable(url: &str) {
    let addr = url.trim_start_matches("http://");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpListener::bind(addr).is_err() {
        assert!(std::time::Instant::now() < deadline, "{addr} stayed in use for 30 s");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// One process of the cluster, restartable on the same port.
pub struct Proc {
    pub name: String,
    pub url: String,
    command: Vec<String>,
    env: Vec<(String, String)>,
    child: Option<Child>,
}

impl Proc {
    fn new(name: &str, port: u16, command: Vec<String>, env: Vec<(String, String)>) -> Self {
        Self { name: name.to_owned(), url: format!("http://127.0.0.1:{port}"), command, env, child: None }
    }

    /// Starts the process and waits for its "listening on" line.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "{} is already running", self.name);
        let program = bin_dir().join(&self.command[0]);
        wait_until_bindable(&self.url);
        assert!(program.exists(), "{} is missing: run `cargo build --workspace --bins` first (local-dev/test.sh does)", program.display());
        let mut child = Command::new(&program)
            .args(&self.command[1..])
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("RUST_LOG", std::env::var("CLUSTER_LOG").unwrap_or_else(|_| "warn,symphonia_core=error".into()))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", program.display()));
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("reading the ready line");
        assert!(line.contains(&format!("listening on {}", self.url)), "{} did not start: {line:?} (its stderr is above)", self.name);
        // Keep draining stdout so the process never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        self.child = Some(child);
    }

    /// SIGKILL: no chance to clean up, as in a crash, an OOM kill or a node loss.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGSTOP: the process freezes without noticing (a stalled node, a suspended VM or pod),
    /// until [`Proc::resume`].
    pub fn pause(&self) {
        self.signal("STOP");
    }

    /// SIGCONT: a paused process carries on where it stopped.
    pub fn resume(&self) {
        self.signal("CONT");
    }

    fn signal(&self, name: &str) {
        let pid = self.child.as_ref().unwrap_or_else(|| panic!("{} is not running", self.name)).id();
        let status = Command::new("kill").arg(format!("-{name}")).arg(pid.to_string()).status().expect("running kill");
        assert!(status.success(), "kill -{name} {pid} ({}) failed", self.name);
    }

    /// Sets (`Some`) or removes (`None`) an environment variable for the next [`Proc::start`].
    pub fn set_env(&mut self, key: &str, value: Option<&str>) {
        self.env.retain(|(k, _)| k != key);
        if let Some(value) = value {
            self.env.push((key.to_owned(), value.to_owned()));
        }
    }

    /// Whether the process started by [`Proc::start`] is still the one running.
    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// How a cluster deviates from the repo's defaults.
pub struct Options {
    /// The manifests the local broker reads.
    pub eventing: PathBuf,
    /// Where the broker delivers for the `convert` Service instead of the real converter
    /// (which then does not run): a stand-in subscriber of a test.
    pub convert_stand_in: Option<String>,
    /// Environment variables added to the upload function's.
    pub upload_env: Vec<(String, String)>,
    /// Environment variables added to the converter's.
    pub convert_env: Vec<(String, String)>,
    /// Environment variables added to the notify function's.
    pub notify_env: Vec<(String, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Self { eventing: eventing_dir(), convert_stand_in: None, upload_env: Vec::new(), convert_env: Vec::new(), notify_env: Vec::new() }
    }
}

pub struct Cluster {
    pub auth: Proc,
    pub upload: Proc,
    pub convert: Proc,
    pub download: Proc,
    pub notify: Proc,
    pub broker: Proc,
    /// The Broker's exchange (another system publishes here, contract §4).
    pub exchange: String,
    pub mongo: mongodb::Database,
    pub client: reqwest::Client,
    /// The key the cluster's functions sign and check events with.
    pub event_key: platform::event_bus::signature::EventKey,
    mysql_database: String,
    _dir: TempDir,
}

/// A user of a cluster, with a token from the seed's `POST /login`.
pub struct ClusterUser {
    pub id: String,
    pub email: String,
    pub password: String,
    pub token: String,
}

/// How long a converter's job lease lasts in a cluster: short, so that a killed converter's
/// job is taken over within seconds.
pub const JOB_LEASE_SECS: u64 = 3;

impl Cluster {
    pub async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let name = format!("mp3convert_cluster_{}", platform::new_id());
        let keys = KeyPair::generate().expect("key pair");
        let (private, public) = (dir.path().join("jwt.pem"), dir.path().join("jwt.pub.pem"));
        std::fs::write(&private, &keys.private_pem).expect("write key");
        std::fs::write(&public, &keys.public_pem).expect("write key");

        let mysql_url = service_url("MP3CONVERT_MYSQL_URL");
        let admin = sqlx::MySqlPool::connect(&mysql_url).await.expect("MySQL");
        sqlx::query(&format!("CREATE DATABASE `{name}`")).execute(&admin).await.expect("create the MySQL database");
        admin.close().await;
        let (server, _) = mysql_url.rsplit_once('/').expect("a database in MP3CONVERT_MYSQL_URL");
        let mongo_url = service_url("MP3CONVERT_MONGODB_URL");
        let mongo = mongodb::Client::with_uri_str(&mongo_url).await.expect("MongoDB").database(&name);

        let ports: Vec<u16> = (0..6).map(|_| free_port()).collect();
        let url = |i: usize| format!("http://127.0.0.1:{}", ports[i]);
        // The key that signs and checks the functions' events.
        let event_key = platform::new_id() + &platform::new_id();
        let common = |port: u16| {
            vec![
                ("MP3CONVERT_EVENT_KEY".to_owned(), event_key.clone()),
                ("MP3CONVERT_MODE".to_owned(), "production".to_owned()),
                // Production closes sign-up unless told otherwise; the tests sign users up.
                ("MP3CONVERT_SIGNUP".to_owned(), "open".to_owned()),
                ("MP3CONVERT_ADDR".to_owned(), format!("127.0.0.1:{port}")),
                ("MP3CONVERT_JWT_PUBLIC_KEY_FILE".to_owned(), public.display().to_string()),
                ("MP3CONVERT_DATA_DIR".to_owned(), dir.path().join("unused").display().to_string()),
            ]
        };
        let mongo_env =
            vec![("MP3CONVERT_MONGODB_URL".to_owned(), mongo_url.clone()), ("MP3CONVERT_MONGODB_DATABASE".to_owned(), name.clone())];
        let function = |binary: &str, port: u16, extra: Vec<(String, String)>| {
            let mut env = common(port);
            env.extend(extra);
            Proc::new(binary, port, vec![binary.to_owned()], env)
        };
        let mut auth = function(
            "mp3convert-auth",
            ports[0],
            vec![
                ("MP3CONVERT_JWT_PRIVATE_KEY_FILE".to_owned(), private.display().to_string()),
                ("MP3CONVERT_MYSQL_URL".to_owned(), format!("{server}/{name}")),
            ],
        );
        let mut upload_env = mongo_env.clone();
        upload_env.push(("K_SINK".to_owned(), url(4)));
        upload_env.extend(options.upload_env.iter().cloned());
        let mut upload = function("mp3convert-upload", ports[1], upload_env);
        let mut convert_env = mongo_env.clone();
        convert_env.push(("MP3CONVERT_JOB_LEASE_SECS".to_owned(), JOB_LEASE_SECS.to_string()));
        convert_env.extend(options.convert_env.iter().cloned());
        let mut convert = function("mp3convert-convert", ports[2], convert_env);
        let mut download_env = mongo_env.clone();
        download_env.push(("MP3CONVERT_LINK_KEY".to_owned(), platform::new_id() + &platform::new_id()));
        let mut download = function("mp3convert-download", ports[3], download_env);
        let mut notify_env = mongo_env;
        notify_env.extend(options.notify_env.iter().cloned());
        let mut notify = function("mp3convert-notify", ports[5], notify_env);

        let convert_target = options.convert_stand_in.clone().unwrap_or_else(|| url(2));
        let broker_args = [
            "mp3convert-local-broker".to_owned(),
            "--eventing".to_owned(),
            options.eventing.display().to_string(),
            "--amqp-url".to_owned(),
            service_url("MP3CONVERT_AMQP_URL"),
            "--exchange".to_owned(),
            name.clone(),
            "--addr".to_owned(),
            format!("127.0.0.1:{}", ports[4]),
            "--service".to_owned(),
            format!("convert={convert_target}"),
            "--service".to_owned(),
            format!("upload={}", url(1)),
            "--service".to_owned(),
            format!("notify={}", url(5)),
        ];
        let mut broker = Proc::new("mp3convert-local-broker", ports[4], broker_args.to_vec(), Vec::new());

        broker.start();
        for proc in [&mut auth, &mut upload, &mut download, &mut notify] {
            proc.start();
        }
        if options.convert_stand_in.is_none() {
            convert.start();
        }
        let client = reqwest::Client::new();
        let event_key = platform::event_bus::signature::EventKey::new(&event_key).expect("an event key");
        let cluster = Self {
            auth,
            upload,
            convert,
            download,
            notify,
            broker,
            exchange: name.clone(),
            mongo,
            client,
            event_key,
            mysql_database: name,
            _dir: dir,
        };
        for proc in [&cluster.auth, &cluster.upload, &cluster.download, &cluster.notify, &cluster.broker] {
            cluster.wait_ready(&proc.url).await;
        }
        cluster
    }

    /// A second `convert` process, as another pod of the Service, started on a port of its
    /// own. The broker does not deliver to it; a test posts to it.
    pub fn convert_replica(&self) -> Proc {
        let port = free_port();
        let mut env = self.convert.env.clone();
        for (key, value) in &mut env {
            if key == "MP3CONVERT_ADDR" {
                *value = format!("127.0.0.1:{port}");
            }
        }
        let mut replica = Proc::new(&self.convert.name, port, self.convert.command.clone(), env);
        replica.start();
        replica
    }

    /// Waits until `url`'s `/health/readiness` answers 200.
    pub async fn wait_ready(&self, url: &str) {
        let probe = format!("{url}/health/readiness");
        crate::eventually(&format!("{probe} to answer 200"), Duration::from_secs(30), || async {
            let response = self.client.get(&probe).send().await.ok()?;
            (response.status() == 200).then_some(())
        })
        .await;
    }

    /// Signs up a new user (JSON API) and logs in with the seed's Basic-auth `POST /login`.
    pub async fn user(&self) -> ClusterUser {
        let email = format!("{}@example.com", platform::new_id());
        let password = "distributed password";
        let created = self
            .client
            .post(format!("{}/api/v1/users", self.auth.url))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let id = created.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let login = self.client.post(format!("{}/login", self.auth.url)).basic_auth(&email, Some(password)).send().await.unwrap();
        assert_eq!(login.status(), 200);
        ClusterUser { id, email, password: password.to_owned(), token: login.text().await.unwrap() }
    }

    /// The seed's `POST /upload` (multipart, one file part).
    pub async fn upload(&self, user: &ClusterUser, file: &Path) -> reqwest::Response {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let part = Part::bytes(std::fs::read(file).unwrap()).file_name(name).mime_str("video/mp4").unwrap();
        let form = Form::new().part("file", part);
        self.client.post(format!("{}/upload", self.upload.url)).bearer_auth(&user.token).multipart(form).send().await.unwrap()
    }

    /// `POST /api/v1/videos` with the file as the raw body.
    pub async fn upload_raw(&self, user: &ClusterUser, file: &Path) -> reqwest::Response {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        self.client
            .post(format!("{}/api/v1/videos?filename={name}", self.upload.url))
            .bearer_auth(&user.token)
            .header("content-type", "video/mp4")
            .body(std::fs::read(file).unwrap())
            .send()
            .await
            .unwrap()
    }

    /// `GET /api/v1/jobs/{id}` on the upload function.
    pub async fn job(&self, user: &ClusterUser, job_id: &str) -> Value {
        let response = self.client.get(format!("{}/api/v1/jobs/{job_id}", self.upload.url)).bearer_auth(&user.token).send().await.unwrap();
        assert_eq!(response.status(), 200, "job {job_id}");
        response.json().await.unwrap()
    }

    /// Uploads a 1 s video named `clip.mp4`, waits for its conversion and returns the job
    /// (asserting it succeeded).
    pub async fn converted_job(&self, user: &ClusterUser) -> Value {
        let dir = tempfile::tempdir().expect("temp dir");
        let video = crate::fixtures::video(dir.path(), "clip.mp4", 1.0);
        let accepted: Value = self.upload(user, &video).await.json().await.expect("upload json");
        let job = self.finished_job(user, accepted["job_id"].as_str().expect("job_id"), Duration::from_secs(120)).await;
        assert_eq!(job["status"], "succeeded", "{job}");
        job
    }

    /// Polls the job until it has succeeded or failed.
    pub async fn finished_job(&self, user: &ClusterUser, job_id: &str, timeout: Duration) -> Value {
        crate::eventually(&format!("job {job_id} to finish"), timeout, || async {
            let job = self.job(user, job_id).await;
            matches!(job["status"].as_str(), Some("succeeded" | "failed")).then_some(job)
        })
        .await
    }

    /// The seed's `GET /download?fid=` of `mp3_id` as `user`, which must answer 200, saved to `out`.
    pub async fn download_mp3(&self, user: &ClusterUser, mp3_id: &str, out: &Path) {
        let response =
            self.client.get(format!("{}/download?fid={mp3_id}", self.download.url)).bearer_auth(&user.token).send().await.unwrap();
        assert_eq!(response.status(), 200, "download of {mp3_id}");
        std::fs::write(out, response.bytes().await.unwrap()).unwrap();
    }

    /// The status in the job's document, read from the database directly.
    pub async fn job_doc_status(&self, job_id: &str) -> String {
        let jobs = self.mongo.collection::<mongodb::bson::Document>("jobs");
        let doc = jobs.find_one(mongodb::bson::doc! { "_id": job_id }).await.unwrap().unwrap_or_else(|| panic!("no job {job_id}"));
        doc.get_str("status").unwrap().to_owned()
    }

    /// How many files the GridFS bucket holds.
    pub async fn gridfs_files(&self, bucket: &str) -> u64 {
        self.mongo.collection::<mongodb::bson::Document>(&format!("{bucket}.files")).count_documents(mongodb::bson::doc! {}).await.unwrap()
    }

    /// A counter of a function's `/metrics` (0 when absent).
    pub async fn metric(&self, proc: &Proc, name: &str) -> u64 {
        let text = self.client.get(format!("{}/metrics", proc.url)).send().await.unwrap().text().await.unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
            .map_or(0, |value| value.trim().parse::<f64>().unwrap_or(0.0) as u64)
    }

    /// Waits for the counter `name` of `proc` to reach `want`, then asserts it is exactly that.
    /// A function counts what it did just after the write a test sees (a job's `succeeded`),
    /// so the counter can lag that by a moment.
    pub async fn assert_metric_reaches(&self, proc: &Proc, name: &str, want: u64) {
        let seen = crate::eventually(&format!("{name} to reach {want}"), std::time::Duration::from_secs(30), || async {
            let seen = self.metric(proc, name).await;
            (seen >= want).then_some(seen)
        })
        .await;
        assert_eq!(seen, want, "{name}");
    }

    /// Stops the processes and drops the cluster's databases, exchange and queues.
    pub async fn stop(mut self) {
        for proc in [&mut self.broker, &mut self.auth, &mut self.upload, &mut self.convert, &mut self.download, &mut self.notify] {
            proc.kill();
        }
        let _ = self.mongo.drop().await;
        if let Ok(admin) = sqlx::MySqlPool::connect(&service_url("MP3CONVERT_MYSQL_URL")).await {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS `{}`", self.mysql_database)).execute(&admin).await;
        }
        if let Ok(connection) =
            lapin::Connection::connect(&service_url("MP3CONVERT_AMQP_URL"), lapin::ConnectionProperties::default()).await
        {
            if let Ok(channel) = connection.create_channel().await {
                for queue in QUEUES {
                    let _ = channel.queue_delete(&format!("{}.{queue}", self.exchange), Default::default()).await;
                }
                for exchange in [self.exchange.clone(), format!("{}.dlx", self.exchange)] {
                    let _ = channel.exchange_delete(&exchange, Default::default()).await;
                }
            }
            let _ = connection.close(200, "done").await;
        }
    }
}
